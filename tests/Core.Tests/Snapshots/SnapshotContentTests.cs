using System.Collections;
using System.Reflection;
using System.Text.Json;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Tests.Snapshots;

/// <summary>
/// What a pass may leave unwritten: only its own times. Every other property of the snapshot's types, found by
/// reflection so that a field added later is covered too, makes two snapshots differ.
/// </summary>
public sealed class SnapshotContentTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    /// <summary>The pass's own times: stamped afresh by every pass, and not content.</summary>
    private static readonly string[] PassTimes = ["ReconciledAt", "NextReconcileAt", "Errors[0].At"];

    /// <summary>A snapshot with every list holding one element and every optional field set, so that each can change.</summary>
    private static WorkflowSnapshot Full()
    {
        var slot = new SlotRecord
        {
            Sample = "s1", Analysis = "align", State = SlotState.Running, Message = "m", JobName = "bk-wf-s1-align", JobId = "job-1",
            BatchStatus = "RUNNING", Attempt = 1, MaxAttempts = 3, Interruptions = 0, FailureClass = FailureClass.Failed,
            StatusReason = "r", ContainerReason = "c", ExitCode = 1, LogStream = "log", Vcpus = 1, Memory = 1000,
            Outputs = [new OutputStatus { Uri = "s3://b/s1.bam", Exists = false }],
            SubmittedAt = Start, StartedAt = Start, StoppedAt = Start, NextAttemptAt = Start, RunnableSince = Start, Stuck = false,
            History =
            [
                new AttemptRecord
                {
                    JobId = "job-1", Queue = "q1", Attempt = 1, Status = "RUNNING", FailureClass = FailureClass.Failed, StatusReason = "r",
                    ContainerReason = "c", ExitCode = 1, Vcpus = 1, Memory = 1000, LogStream = "log", SubmittedAt = Start,
                    StartedAt = Start, StoppedAt = Start, Settled = false,
                },
            ],
        };
        var snapshot = new WorkflowSnapshot
        {
            Project = "demo", Workflow = "wf", File = "wf.json", DefinitionSha256 = "abc", Backend = "Fake", Cancel = false,
            ReconciledAt = Start, NextReconcileAt = Start.AddMinutes(1), Errors = [new SnapshotError(Start, "boom")], Notes = ["a note"],
            AppliedRequests = ["r1"], UnconfirmedSubmissions = ["bk-wf-s2-align"], Slots = [slot],
        };
        snapshot.Summary = SnapshotSummary.Of(snapshot.Slots);
        return snapshot;
    }

    /// <summary>The snapshot as a file keeps it: read back, it has strings and objects of its own.</summary>
    private static WorkflowSnapshot ReadBack(WorkflowSnapshot snapshot) =>
        JsonSerializer.Deserialize<WorkflowSnapshot>(JsonSerializer.Serialize(snapshot, SnapshotJson.Options), SnapshotJson.Options)!;

    [Fact]
    public void SnapshotReadBackFromItsFile_IsTheSame()
    {
        var snapshot = Full();

        Assert.True(SnapshotContent.Same(snapshot, ReadBack(snapshot)));
        Assert.True(SnapshotContent.Same(snapshot, snapshot));
    }

    [Fact]
    public void NoStoredSnapshot_IsNeverTheSame()
    {
        Assert.False(SnapshotContent.Same(null, Full()));
    }

    [Fact]
    public void EveryPropertyButThePassTimes_IsContent()
    {
        var wrong = new List<string>();
        var checkedNames = new List<string>();
        foreach (var (name, owner, property, writeBack) in Properties(typeof(WorkflowSnapshot), "", s => s, null))
        {
            var stored = Full();
            var next = ReadBack(stored);
            var target = owner(next);
            property.SetValue(target, Changed(property.GetValue(target), property.PropertyType));
            writeBack?.Invoke(next, target);
            var expectedSame = PassTimes.Contains(name);
            if (SnapshotContent.Same(stored, next) != expectedSame)
            {
                wrong.Add($"{name}: changed, Same says {!expectedSame}");
            }

            checkedNames.Add(name);
        }

        Assert.Empty(wrong);
        Assert.True(checkedNames.Count > 60, $"only {checkedNames.Count} properties walked: {string.Join(", ", checkedNames)}");
        Assert.All(PassTimes, name => Assert.Contains(name, checkedNames));
    }

    [Fact]
    public void AnotherSlotOrAttempt_IsContent()
    {
        var stored = Full();
        var moreSlots = ReadBack(stored);
        moreSlots.Slots.Add(ReadBack(stored).Slots[0]);
        var moreHistory = ReadBack(stored);
        moreHistory.Slots[0].AddAttempt(stored.Slots[0].History[0].Copy());

        Assert.False(SnapshotContent.Same(stored, moreSlots));
        Assert.False(SnapshotContent.Same(stored, moreHistory));
    }

    /// <summary>
    /// Every settable property reachable from <paramref name="type"/>, with how to find its owner in a snapshot; a list of
    /// objects is walked through its first element, the summary as an object of its own. An element that is a struct
    /// (an output) is changed in a boxed copy, which <c>WriteBack</c> puts back in its list.
    /// </summary>
    private static IEnumerable<(string Name, Func<WorkflowSnapshot, object> Owner, PropertyInfo Property, Action<WorkflowSnapshot, object>? WriteBack)> Properties(
        Type type, string prefix, Func<WorkflowSnapshot, object> owner, Action<WorkflowSnapshot, object>? writeBack)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var name = prefix + property.Name;
            var kind = property.PropertyType;
            if (kind == typeof(SnapshotSummary))
            {
                foreach (var inner in Properties(kind, name + ".", s => property.GetValue(owner(s))!, null))
                {
                    yield return inner;
                }

                continue;
            }

            yield return (name, owner, property, writeBack);
            if (ElementOf(kind) is { } element && element != typeof(string))
            {
                Action<WorkflowSnapshot, object>? back = element.IsValueType ? (s, boxed) => ((IList)property.GetValue(owner(s))!)[0] = boxed : null;
                foreach (var inner in Properties(element, name + "[0].", s => ((IList)property.GetValue(owner(s))!)[0]!, back))
                {
                    yield return inner;
                }
            }
        }
    }

    private static Type? ElementOf(Type type) =>
        type.IsArray ? type.GetElementType()
        : type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(List<>) || type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>)) ? type.GetGenericArguments()[0] : null;

    /// <summary>A value of <paramref name="type"/> other than <paramref name="value"/>; a list gains a copy of its first element.</summary>
    private static object? Changed(object? value, Type type)
    {
        var plain = Nullable.GetUnderlyingType(type) ?? type;
        if (ElementOf(type) is { } element)
        {
            var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(element), value)!;
            list.Add(element == typeof(string) ? "another" : JsonSerializer.Deserialize(JsonSerializer.Serialize(list[0], SnapshotJson.Options), element, SnapshotJson.Options));
            if (type.IsArray)
            {
                var array = Array.CreateInstance(element, list.Count);
                list.CopyTo(array, 0);
                return array;
            }

            return list;
        }

        return plain switch
        {
            _ when plain == typeof(string) => (string?)value + "-changed",
            _ when plain == typeof(int) => ((int?)value ?? 0) + 1,
            _ when plain == typeof(bool) => !((bool?)value ?? false),
            _ when plain == typeof(DateTimeOffset) => ((DateTimeOffset?)value ?? Start).AddSeconds(1),
            _ when plain.IsEnum => Enum.GetValues(plain).Cast<object>().First(v => !v.Equals(value)),
            _ => throw new InvalidOperationException($"the test cannot change a {type.Name}: teach it, and SnapshotContent, the new field"),
        };
    }
}

using System.Text.Json.Serialization;

namespace Batchkeeper.Core.Snapshots;

/// <summary>One output of a slot and whether it was found.</summary>
/// <remarks>A struct, kept inline in its slot's array: a slot holds one or two for good, and a daemon millions of slots.</remarks>
public struct OutputStatus
{
    public string Uri { get; set; }
    public bool Exists { get; set; }
}

/// <summary>One job slot (sample × analysis) with its current job and every attempt before it.</summary>
/// <remarks>
/// <para>
/// A daemon holds one per slot of every workflow it manages (millions, at an institute's scale; issue 19 asks for at
/// most 1 KB a slot), and most are complete slots that say little: no message, no failure, often no job of ours. So the
/// record keeps inline what every slot has (its names, state, job, attempt and outputs) and puts what only a slot that
/// ran or went wrong has (its times, reasons, exit code, log stream) in a second object made on the first such value
/// set: 112 bytes for a quiet slot where one object of every field took 200.
/// </para>
/// <para>
/// Times are kept as UTC ticks (8 bytes, where a <c>DateTimeOffset?</c> takes 24); see <see cref="UtcTime"/>. The
/// properties are declared in the snapshot's field order: they are what the JSON is made of.
/// </para>
/// </remarks>
public sealed class SlotRecord
{
    private static readonly AttemptRecord[] NoAttempts = [];

    private Detail? _detail;
    private List<AttemptRecord>? _history;

    public string Sample { get; set; } = "";
    public string Analysis { get; set; } = "";
    public SlotState State { get; set; }

    /// <summary>Why the slot is where it is, in words, when that is not obvious from the state.</summary>
    public string? Message { get => _detail?.Message; set => Set(value is not null)?.Message = value; }

    public string? JobName { get; set; }
    public string? JobId { get; set; }
    public string? BatchStatus { get; set; }

    /// <summary>The ordinary attempt the current (or next) job is; interruptions do not count.</summary>
    public int Attempt { get; set; }
    public int MaxAttempts { get; set; }
    public int Interruptions { get => _detail?.Interruptions ?? 0; set => Set(value != 0)?.Interruptions = value; }
    public FailureClass? FailureClass { get => _detail?.FailureClass; set => Set(value is not null)?.FailureClass = value; }
    public string? StatusReason { get => _detail?.StatusReason; set => Set(value is not null)?.StatusReason = value; }

    /// <summary>The container's own reason (e.g. <c>OutOfMemoryError: Container killed…</c>), when Batch gives one.</summary>
    public string? ContainerReason { get => _detail?.ContainerReason; set => Set(value is not null)?.ContainerReason = value; }
    public int? ExitCode { get => _detail?.ExitCode; set => Set(value is not null)?.ExitCode = value; }
    public string? LogStream { get => _detail?.LogStream; set => Set(value is not null)?.LogStream = value; }
    public int? Vcpus { get; set; }

    /// <summary>Memory in MiB the next or current job asks for (escalated after out-of-memory).</summary>
    public int? Memory { get; set; }

    /// <summary>The slot's outputs and whether each was found; an array, not a list: a slot holds one or two, for good.</summary>
    public OutputStatus[] Outputs { get; set; } = [];

    public DateTimeOffset? SubmittedAt { get => Read(_detail?.SubmittedAt); set => SetTime(value, static (d, t) => d.SubmittedAt = t); }
    public DateTimeOffset? StartedAt { get => Read(_detail?.StartedAt); set => SetTime(value, static (d, t) => d.StartedAt = t); }
    public DateTimeOffset? StoppedAt { get => Read(_detail?.StoppedAt); set => SetTime(value, static (d, t) => d.StoppedAt = t); }
    public DateTimeOffset? NextAttemptAt { get => Read(_detail?.NextAttemptAt); set => SetTime(value, static (d, t) => d.NextAttemptAt = t); }

    /// <summary>When the current job was first seen RUNNABLE (cleared when it moves on).</summary>
    public DateTimeOffset? RunnableSince { get => Read(_detail?.RunnableSince); set => SetTime(value, static (d, t) => d.RunnableSince = t); }

    /// <summary>The job has waited RUNNABLE with a MISCONFIGURATION or CAPACITY reason for too long.</summary>
    public bool Stuck { get => _detail?.Stuck ?? false; set => Set(value)?.Stuck = value; }

    /// <summary>
    /// Every job submitted or adopted for the slot, oldest first; add with <see cref="AddAttempt"/>. Read-only so that
    /// a slot that never had a job (most of a finished campaign found complete) holds no list of its own.
    /// </summary>
    public IReadOnlyList<AttemptRecord> History
    {
        get => (IReadOnlyList<AttemptRecord>?)_history ?? NoAttempts;
        set => _history = value is null || value.Count == 0 ? null : value as List<AttemptRecord> ?? [.. value];
    }

    public void AddAttempt(AttemptRecord attempt) => (_history ??= []).Add(attempt);

    /// <summary>The newest attempt, or null when the slot never had a job.</summary>
    [JsonIgnore]
    public AttemptRecord? LastAttempt => _history is { Count: > 0 } history ? history[^1] : null;

    /// <summary>A deep copy (its outputs and history too).</summary>
    public SlotRecord Copy()
    {
        var copy = (SlotRecord)MemberwiseClone();
        copy._detail = _detail?.Copy();
        copy.Outputs = (OutputStatus[])Outputs.Clone();
        copy._history = _history?.ConvertAll(attempt => attempt.Copy());
        return copy;
    }

    private static DateTimeOffset? Read(long? ticks) => ticks is { } value ? UtcTime.Read(value) : null;

    /// <summary>The detail to write a value into: made when the value is not the default, else only the one there is.</summary>
    private Detail? Set(bool notDefault) => notDefault ? _detail ??= new Detail() : _detail;

    private void SetTime(DateTimeOffset? value, Action<Detail, long> write)
    {
        if (Set(value is not null) is { } detail)
        {
            write(detail, UtcTime.Write(value));
        }
    }

    /// <summary>What only a slot that ran or went wrong has (see the remarks on <see cref="SlotRecord"/>).</summary>
    private sealed class Detail
    {
        public string? Message;
        public string? StatusReason;
        public string? ContainerReason;
        public string? LogStream;
        public FailureClass? FailureClass;
        public int? ExitCode;
        public int Interruptions;
        public bool Stuck;
        public long SubmittedAt = UtcTime.None;
        public long StartedAt = UtcTime.None;
        public long StoppedAt = UtcTime.None;
        public long NextAttemptAt = UtcTime.None;
        public long RunnableSince = UtcTime.None;

        public Detail Copy() => (Detail)MemberwiseClone();
    }
}

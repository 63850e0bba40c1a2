using System.Text.Json;
using Batchkeeper.Core.Passes;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Core.Tests.Reconciliation;
using static Batchkeeper.Core.Tests.Reconciliation.ReconcilerHarness;

namespace Batchkeeper.Core.Tests.Passes;

/// <summary>The pass as a function of its input: a new snapshot, the previous one untouched, and what changed.</summary>
public sealed class ReconcilePassTests
{
    private static string Json(WorkflowSnapshot snapshot) => JsonSerializer.Serialize(snapshot, SnapshotJson.Options);

    [Fact]
    public async Task Reconcile_NeverEditsThePreviousSnapshot_AndCopiesTheSlotsItChanges()
    {
        var h = new ReconcilerHarness(OneStep(), samples: Samples("s1", "s2"));
        var previous = await h.PassAsync();
        var before = Json(previous);
        h.Backend.Fail("job-1", "Essential container in task exited", exitCode: 1);
        h.Clock.Advance(TimeSpan.FromMinutes(5));

        var next = await h.PassAsync();

        Assert.Equal(before, Json(previous));
        Assert.Equal(SlotState.Queued, previous.Slots[0].State);
        Assert.NotEqual(SlotState.Queued, next.Slots[0].State);
        Assert.NotSame(previous.Slots[0], next.Slots[0]);
        Assert.NotSame(previous.Slots[0].History, next.Slots[0].History);
        Assert.NotSame(previous.Slots[0].Outputs, next.Slots[0].Outputs);
    }

    [Fact]
    public async Task Reconcile_SharesTheRecordsOfSlotsThatDidNotChange_AndReportsNoTransitionForThem()
    {
        var h = new ReconcilerHarness(OneStep(), samples: Samples("s1", "s2"));
        h.MakeOutputs("s2", "align");
        await h.PassAsync();
        var previous = await h.PassAsync();
        var before = Json(previous);
        h.Backend.Fail("job-1", "Essential container in task exited", exitCode: 1);
        h.Clock.Advance(TimeSpan.FromMinutes(5));

        var next = await h.PassAsync();

        Assert.Equal(before, Json(previous));
        Assert.Same(previous.Slots[1], next.Slots[1]);
        Assert.Equal(SlotState.Complete, next.Slots[1].State);
        Assert.NotSame(previous.Slots[0], next.Slots[0]);
        Assert.DoesNotContain(h.LastTransitions, t => t.Sample == "s2");
        Assert.Contains(h.LastTransitions, t => t.Sample == "s1");
    }

    [Fact]
    public async Task Reconcile_OfASnapshotReadFromDisk_LeavesItAsItWas_AndGivesTheSameResultAsTheSnapshotInMemory()
    {
        var h = new ReconcilerHarness(OneStep(), samples: Samples("s1", "s2"));
        h.MakeOutputs("s2", "align");
        var inMemory = await h.PassAsync();
        var fromDisk = Copy(inMemory);
        var before = Json(fromDisk);
        h.Snapshot = fromDisk;

        var next = await h.PassAsync();

        Assert.Equal(before, Json(fromDisk));
        Assert.Equal(
            inMemory.Slots.Select(s => (s.Sample, s.State, s.JobId)),
            next.Slots.Select(s => (s.Sample, s.State, s.JobId)));
        Assert.Empty(h.LastTransitions);
    }

    [Fact]
    public async Task Reconcile_FirstPass_ReportsEveryNewSlotFromNothing()
    {
        var h = new ReconcilerHarness(TwoSteps, Samples("s1", "s2"));

        await h.PassAsync();

        Assert.Equal(
            [("s1", "align", (SlotState?)null, SlotState.Queued, "job-1"), ("s1", "call", null, SlotState.Queued, "job-2"),
             ("s2", "align", null, SlotState.Queued, "job-3"), ("s2", "call", null, SlotState.Queued, "job-4")],
            h.LastTransitions.Select(t => (t.Sample, t.Analysis, t.From, t.To, t.JobId)).ToArray());
    }

    [Fact]
    public async Task Reconcile_ReportsOnlyTheSlotsThatChanged_WithTheirClassAndReason()
    {
        var h = new ReconcilerHarness(OneStep(), Samples("s1", "s2"));
        await h.PassAsync();
        h.Backend.Fail("job-1", "Essential container in task exited", exitCode: 1);

        await h.PassAsync();

        var change = Assert.Single(h.LastTransitions);
        Assert.Equal(("s1", "align", (SlotState?)SlotState.Queued, SlotState.Retrying, (string?)null, (FailureClass?)FailureClass.Failed),
            (change.Sample, change.Analysis, change.From, change.To, change.JobId, change.FailureClass));
        Assert.StartsWith("Resubmitting at ", change.Reason);

        await h.PassAsync();
        Assert.Empty(h.LastTransitions);
    }

    [Fact]
    public async Task Reconcile_StampsTheSnapshotOnceFromTheInput()
    {
        var h = new ReconcilerHarness(OneStep());
        var now = h.Clock.GetUtcNow() + TimeSpan.FromHours(1);
        var input = new PassInput(h.Plan, null, [], now)
        {
            DefinitionSha256 = "abc",
            Notes = ["a note"],
            Errors = ["wf.retry.json: cannot be read: boom"],
            NextReconcileAt = now + TimeSpan.FromMinutes(5),
        };

        var result = await h.Reconciler.ReconcileAsync(input, CancellationToken.None);

        var snapshot = result.Snapshot;
        Assert.Equal((now, now + TimeSpan.FromMinutes(5), "abc"), (snapshot.ReconciledAt, snapshot.NextReconcileAt, snapshot.DefinitionSha256));
        Assert.Equal(["a note"], snapshot.Notes);
        Assert.Equal([new SnapshotError(now, "wf.retry.json: cannot be read: boom")], snapshot.Errors);
        Assert.Equal(now, snapshot.Slots[0].SubmittedAt);
        Assert.Equal(1, result.Submitted);
    }

    [Fact]
    public void LastSeen_CopiesThePrevious_AndLeavesItAsItWas()
    {
        var previous = new WorkflowSnapshot
        {
            Project = "demo", File = "wf.json", Errors = [new SnapshotError(Start, "old")],
            Slots = [new SlotRecord { Sample = "s1", Analysis = "align", State = SlotState.Running, JobId = "job-1" }],
        };
        var before = Json(previous);

        var snapshot = LastSeen.Of(previous, Location, "fake", "wf", Start.AddMinutes(1), Start.AddMinutes(2), ["reconcile failed"]);

        Assert.Equal(before, Json(previous));
        Assert.NotSame(previous.Slots[0], snapshot.Slots[0]);
        Assert.Equal(("job-1", Start.AddMinutes(1), "reconcile failed"), (snapshot.Slots[0].JobId, snapshot.ReconciledAt, Assert.Single(snapshot.Errors).Message));
    }
}

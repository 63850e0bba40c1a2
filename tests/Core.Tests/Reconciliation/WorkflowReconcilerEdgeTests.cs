using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Snapshots;
using static Batchkeeper.Core.Tests.Reconciliation.ReconcilerHarness;

namespace Batchkeeper.Core.Tests.Reconciliation;

/// <summary>Edge cases found in review: old jobs of the same name, a finished job without a stop time.</summary>
public sealed class WorkflowReconcilerEdgeTests
{
    [Fact]
    public async Task Reconcile_OldFailedJobOfTheSameName_IsNotAdoptedAsANewFailure()
    {
        // A job of this slot's name failed long ago (say, before the spec was changed and changed back)
        // and no snapshot remembers it.
        var h = new ReconcilerHarness(OneStep());
        await h.PassAsync();
        h.Backend.Fail("job-1", "Essential container in task exited", exitCode: 1);
        h.Snapshot = null;
        h.Clock.Advance(TimeSpan.FromDays(1));

        await h.PassAsync();

        var slot = h.Slot("s1", "align");
        Assert.Equal(SlotState.Queued, slot.State);
        Assert.Equal("job-2", slot.JobId);
        Assert.Equal(1, slot.Attempt);
        Assert.Equal(["job-2"], slot.History.Select(a => a.JobId));
    }

    [Fact]
    public async Task Reconcile_UnrecordedJobCreatedAfterTheLastSubmission_IsAdoptedEvenWhenItFailed()
    {
        var h = new ReconcilerHarness(OneStep());
        await h.PassAsync();
        h.Backend.Fail("job-1", "Essential container in task exited", exitCode: 1);
        await h.PassAsync();
        h.Clock.Advance(TimeSpan.FromMinutes(2));
        var before = Copy(h.Snapshot!);
        await h.PassAsync();
        Assert.Equal("job-2", h.Slot("s1", "align").JobId);

        // The daemon died before writing that pass's snapshot, and attempt 2 failed meanwhile.
        h.Backend.Fail("job-2", "Essential container in task exited", exitCode: 2);
        h.Snapshot = before;
        await h.PassAsync();

        var slot = h.Slot("s1", "align");
        Assert.Equal(["job-1", "job-2"], slot.History.Select(a => a.JobId));
        Assert.Equal(2, h.Backend.SubmitCalls.Count);
        Assert.Equal(SlotState.Retrying, slot.State);
        Assert.Equal(3, slot.Attempt);
    }

    [Fact]
    public async Task Reconcile_FirstJobOfASlotSubmittedJustBeforeACrash_IsAdoptedEvenWhenItFailedMeanwhile()
    {
        // Found by the SIGKILL trials: the first job of a new sample was submitted, the daemon died before its
        // snapshot, the job failed; the next start submitted the same attempt again instead of adopting it.
        var h = new ReconcilerHarness(OneStep(), Samples("s1"));
        await h.PassAsync();
        var before = Copy(h.Snapshot!);
        h.Load(OneStep(), Samples("s1", "s2"));
        h.Clock.Advance(TimeSpan.FromMinutes(1));
        await h.PassAsync();
        Assert.Equal("job-2", h.Slot("s2", "align").JobId);

        h.Backend.Fail("job-2", "Essential container in task exited", exitCode: 1);
        h.Snapshot = before;
        h.Clock.Advance(TimeSpan.FromMinutes(1));
        await h.PassAsync();

        var slot = h.Slot("s2", "align");
        Assert.Equal(2, h.Backend.SubmitCalls.Count);
        Assert.Equal(["job-2"], slot.History.Select(a => a.JobId));
        Assert.Equal(SlotState.Retrying, slot.State);
        Assert.Equal(2, slot.Attempt);
    }

    [Fact]
    public async Task Reconcile_SucceededJobWithoutStopTime_StillRunsOutOfGrace()
    {
        var h = new ReconcilerHarness(OneStep(), options: new() { SubmitParallelism = 1, OutputGracePeriod = TimeSpan.FromMinutes(1) });
        await h.PassAsync();
        h.Backend.Succeed("job-1");
        h.Backend.Job("job-1").StoppedAt = null;
        await h.PassAsync();
        Assert.Equal(SlotState.Verifying, h.Slot("s1", "align").State);

        h.Clock.Advance(TimeSpan.FromMinutes(2));
        await h.PassAsync();

        var slot = h.Slot("s1", "align");
        Assert.Equal(FailureClass.SucceededWithoutOutputs, slot.History[0].FailureClass);
        Assert.Equal(SlotState.Retrying, slot.State);
    }
}

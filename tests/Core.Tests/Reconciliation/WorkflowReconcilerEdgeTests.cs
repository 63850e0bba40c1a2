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
    public async Task Reconcile_UnrecordedJobThatFailedMeanwhile_IsNotAdopted_TheSlotRunsAgainAtOnceWithoutUsingAnAttempt()
    {
        var h = new ReconcilerHarness(OneStep());
        await h.PassAsync();
        h.Backend.Fail("job-1", "Essential container in task exited", exitCode: 1);
        await h.PassAsync();
        h.Clock.Advance(TimeSpan.FromMinutes(2));
        var before = Copy(h.Snapshot!);
        await h.PassAsync();
        Assert.Equal("job-2", h.Slot("s1", "align").JobId);

        // The daemon died before writing that pass's snapshot, and attempt 2 failed meanwhile: only active jobs are
        // adopted (the design), so the slot is submitted again at once as attempt 2.
        h.Backend.Fail("job-2", "Essential container in task exited", exitCode: 2);
        h.Snapshot = before;
        await h.PassAsync();

        var slot = h.Slot("s1", "align");
        Assert.Equal(["job-1", "job-3"], slot.History.Select(a => a.JobId));
        Assert.Equal(3, h.Backend.SubmitCalls.Count);
        Assert.Equal(SlotState.Queued, slot.State);
        Assert.Equal(2, slot.Attempt);
    }

    [Fact]
    public async Task Reconcile_LostSnapshot_OldSucceededJobWithMissingOutputs_IsNotAdopted_TheSlotRunsAgainAtOnce()
    {
        // The case: snapshot deleted, outputs missing, the old SUCCEEDED job of the same name still listed.
        var h = new ReconcilerHarness(OneStep());
        await h.PassAsync();
        h.Backend.Succeed("job-1");
        h.Snapshot = null;
        h.Clock.Advance(TimeSpan.FromMinutes(1));

        await h.PassAsync();

        var slot = h.Slot("s1", "align");
        Assert.Equal(2, h.Backend.SubmitCalls.Count);
        Assert.Equal(["job-2"], slot.History.Select(a => a.JobId));
        Assert.Equal(SlotState.Queued, slot.State);
        Assert.Equal(1, slot.Attempt);
        Assert.Null(slot.FailureClass);
    }

    [Fact]
    public async Task Reconcile_UnrecordedJobThatSucceedsBetweenTheOutputCheckAndTheListing_CompletesTheSlot_NothingSubmittedTwice()
    {
        // Found by the SIGKILL trials once only active jobs were adopted: no snapshot, the job still running when the
        // outputs were checked, SUCCEEDED (outputs written) by the time the pass listed the queue.
        var h = new ReconcilerHarness(OneStep());
        await h.PassAsync();
        h.Snapshot = null;
        h.Backend.BeforeList = () =>
        {
            h.MakeOutputs("s1", "align");
            h.Backend.Succeed("job-1");
        };

        await h.PassAsync();

        Assert.Single(h.Backend.SubmitCalls);
        Assert.Equal(SlotState.Complete, h.Slot("s1", "align").State);
    }

    [Fact]
    public async Task Reconcile_UnrecordedActiveJob_IsAdopted_NotSubmittedAgain()
    {
        var h = new ReconcilerHarness(OneStep());
        await h.PassAsync();
        h.Backend.SetRunning("job-1");
        h.Snapshot = null;

        await h.PassAsync();

        Assert.Single(h.Backend.SubmitCalls);
        Assert.Equal("job-1", h.Slot("s1", "align").JobId);
        Assert.Equal(SlotState.Running, h.Slot("s1", "align").State);
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

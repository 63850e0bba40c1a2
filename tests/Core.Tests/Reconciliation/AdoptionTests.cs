using Batchkeeper.Core.Snapshots;
using static Batchkeeper.Core.Tests.Reconciliation.ReconcilerHarness;

namespace Batchkeeper.Core.Tests.Reconciliation;

/// <summary>
/// A pass lists the backend's jobs by name only when its snapshot may not know a job submitted for the workflow:
/// a snapshot read from disk (the daemon may have died right after a SubmitJob), or a submission whose answer was lost.
/// </summary>
public sealed class AdoptionTests
{
    [Fact]
    public async Task Resubmission_InALaterPassOfTheSameDaemon_ListsNothing()
    {
        var h = new ReconcilerHarness(OneStep());
        await h.PassAsync();
        Assert.Single(h.Backend.ListCalls); // no snapshot yet: jobs of this name may exist from before
        h.Backend.Fail("job-1", "Essential container in task exited", exitCode: 1);
        await h.PassAsync();
        h.Clock.Advance(TimeSpan.FromMinutes(1));

        await h.PassAsync();

        Assert.Equal(2, h.Backend.SubmitCalls.Count);
        Assert.Single(h.Backend.ListCalls);
        Assert.Equal(("job-2", 2), (h.Slot("s1", "align").JobId, h.Slot("s1", "align").Attempt));
    }

    [Fact]
    public async Task FirstPassAfterARestart_ListsBeforeSubmitting_AndAdoptsTheJobTheLostSnapshotWouldHaveHeld()
    {
        var h = new ReconcilerHarness(OneStep());
        await h.PassAsync();
        h.Backend.Fail("job-1", "Essential container in task exited", exitCode: 1);
        await h.PassAsync();
        var onDisk = Copy(h.Snapshot!);
        h.Clock.Advance(TimeSpan.FromMinutes(1));
        await h.PassAsync(); // submits job-2; then the daemon dies before this pass's snapshot is written
        Assert.Equal(2, h.Backend.SubmitCalls.Count);
        Assert.Single(h.Backend.ListCalls);

        h.Snapshot = onDisk; // the restarted daemon reads the older snapshot
        await h.PassAsync();

        Assert.Equal(2, h.Backend.SubmitCalls.Count);
        Assert.Equal(2, h.Backend.ListCalls.Count);
        var slot = h.Slot("s1", "align");
        Assert.Equal(("job-2", SlotState.Queued, 2), (slot.JobId, slot.State, slot.Attempt));
        Assert.Equal(["job-1", "job-2"], slot.History.Select(a => a.JobId));
    }

    [Fact]
    public async Task SubmissionWhoseAnswerWasLost_IsLookedForBeforeAnythingIsSubmittedAgain()
    {
        var h = new ReconcilerHarness(OneStep());
        await h.PassAsync();
        h.Backend.Fail("job-1", "Essential container in task exited", exitCode: 1);
        await h.PassAsync();
        h.Clock.Advance(TimeSpan.FromMinutes(1));
        h.Backend.LoseAnswers(_ => true);

        var lost = await h.PassAsync(); // Batch created job-2; the daemon never heard

        Assert.Equal([h.JobName("s1", "align")], lost.UnconfirmedSubmissions);
        Assert.Null(h.Slot("s1", "align").JobId);
        h.Backend.ClearLostAnswers();

        await h.PassAsync();

        Assert.Equal(2, h.Backend.SubmitCalls.Count);
        Assert.Equal(2, h.Backend.ListCalls.Count);
        Assert.Equal("job-2", h.Slot("s1", "align").JobId);
        Assert.Empty(h.Snapshot!.UnconfirmedSubmissions);
    }

    [Fact]
    public async Task UnconfirmedSubmission_IsKeptInTheSnapshot_UntilAPassThatWouldSubmitHasLookedForIt()
    {
        var h = new ReconcilerHarness(OneStep());
        await h.PassAsync();
        h.Backend.Fail("job-1", "Essential container in task exited", exitCode: 1);
        await h.PassAsync();
        h.Backend.LoseAnswers(_ => true);
        h.Clock.Advance(TimeSpan.FromMinutes(1));
        await h.PassAsync();
        h.Backend.ClearLostAnswers();
        h.MakeOutputs("s1", "align"); // the lost job did its work: nothing is left to submit

        var snapshot = await h.PassAsync();

        Assert.Equal([h.JobName("s1", "align")], snapshot.UnconfirmedSubmissions);
        Assert.Equal(SlotState.Complete, h.Slot("s1", "align").State);
        Assert.Single(h.Backend.ListCalls);
    }
}

using Batchkeeper.Core.Snapshots;
using static Batchkeeper.Core.Tests.Reconciliation.ReconcilerHarness;

namespace Batchkeeper.Core.Tests.Reconciliation;

/// <summary>
/// With a submission journal the reconciler lists the backend's jobs only when a snapshot may have missed one:
/// no snapshot yet, an announcement a crash left behind, or a submission whose answer was lost.
/// </summary>
public sealed class SubmissionJournalTests
{
    [Fact]
    public async Task Resubmission_AfterTheFirstPass_ListsNothing_AndIsAnnouncedBeforeItIsSubmitted()
    {
        var h = new ReconcilerHarness(OneStep(), journal: true);
        await h.PassAsync();
        Assert.Single(h.Backend.ListCalls); // no snapshot yet: jobs of this name may exist from before
        h.Backend.Fail("job-1", "Essential container in task exited", exitCode: 1);
        await h.PassAsync();
        h.Clock.Advance(TimeSpan.FromMinutes(1));

        await h.PassAsync();

        Assert.Equal(2, h.Backend.SubmitCalls.Count);
        Assert.Single(h.Backend.ListCalls);
        var announced = h.Journal!.Announcements[^1];
        Assert.Equal([h.JobName("s1", "align")], announced.Names);
        Assert.Equal(1, announced.SubmitCallsBefore); // written down before the second SubmitJob
        Assert.Equal(("job-2", 2), (h.Slot("s1", "align").JobId, h.Slot("s1", "align").Attempt));
        Assert.Empty(h.Journal.Pending);
    }

    [Fact]
    public async Task CrashBetweenSubmitJobAndTheSnapshot_TheNextPassFindsTheJobByName_InsteadOfSubmittingAgain()
    {
        var h = new ReconcilerHarness(OneStep(), journal: true);
        await h.PassAsync();
        h.Backend.Fail("job-1", "Essential container in task exited", exitCode: 1);
        await h.PassAsync();
        var onDisk = Copy(h.Snapshot!);
        h.Clock.Advance(TimeSpan.FromMinutes(1));
        await h.PassAsync(saved: false); // submits job-2, then the daemon dies before its snapshot is written
        Assert.Equal(2, h.Backend.SubmitCalls.Count);
        h.Snapshot = onDisk;

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
        var h = new ReconcilerHarness(OneStep(), journal: true);
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
    public async Task WhenTheJournalCannotBeWritten_NothingIsSubmitted_AndTheSnapshotSaysWhy()
    {
        var h = new ReconcilerHarness(OneStep(), journal: true);
        h.Journal!.AnnounceFailure = new IOException("No space left on device");

        var snapshot = await h.PassAsync();

        Assert.Empty(h.Backend.SubmitCalls);
        Assert.Contains(snapshot.Errors, e => e.Message.Contains("could not be recorded first: No space left on device", StringComparison.Ordinal));
        h.Journal.AnnounceFailure = null;

        await h.PassAsync();

        Assert.Single(h.Backend.SubmitCalls);
    }
}

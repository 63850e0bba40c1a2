using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Notifications;

namespace Batchkeeper.Daemon.Tests.Notifications;

/// <summary>What needs a person, found from snapshots against what was told: each thing once, again only after it ended.</summary>
public sealed class EventDetectorTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);

    private static SlotRecord Slot(string sample, SlotState state, string? job = null, bool stuck = false) => new()
    {
        Sample = sample, Analysis = "align", State = state, JobName = $"bk-{sample}", JobId = state is SlotState.Queued or SlotState.Running ? job : null,
        Stuck = stuck, Attempt = 1, MaxAttempts = 1, Message = $"{state}",
        History = job is null ? [] : [new AttemptRecord { JobId = job, Attempt = 1, Status = "FAILED", Queue = "q" }],
    };

    private static WorkflowSnapshot Snapshot(params SlotRecord[] slots)
    {
        var snapshot = new WorkflowSnapshot { Project = "study", Workflow = "wf", File = "wf.json", Backend = "Aws", Slots = [.. slots] };
        snapshot.Summary = SnapshotSummary.Of(snapshot.Slots);
        return snapshot;
    }

    private static string[] Detect(WorkflowSnapshot snapshot, WorkflowTold told, int errorPasses = 0) =>
        [.. EventDetector.Detect("/srv/projects", snapshot, told, errorPasses, Now).Select(e => $"{e.Type} {e.Sample}".Trim())];

    [Fact]
    public void SlotFailedForGood_IsToldOnce_AndAgainOnlyAfterARetryFailsAgain()
    {
        var told = new WorkflowTold();
        Assert.Equal(["slot_failed s1"], Detect(Snapshot(Slot("s1", SlotState.FailedPermanently, "j1"), Slot("s2", SlotState.Running, "j2")), told));
        Assert.Empty(Detect(Snapshot(Slot("s1", SlotState.FailedPermanently, "j1"), Slot("s2", SlotState.Running, "j2")), told));

        // Retried (a new job), and failed again: a new failure.
        Assert.Empty(Detect(Snapshot(Slot("s1", SlotState.Queued, "j3"), Slot("s2", SlotState.Running, "j2")), told));
        Assert.Equal(["slot_failed s1"], Detect(Snapshot(Slot("s1", SlotState.FailedPermanently, "j3"), Slot("s2", SlotState.Running, "j2")), told));
    }

    [Fact]
    public void TheSameFailureFoundAgain_HasTheSameEventId()
    {
        var snapshot = Snapshot(Slot("s1", SlotState.FailedPermanently, "j1"));
        var first = EventDetector.Detect("/srv/projects", snapshot, new WorkflowTold(), 0, Now);
        var again = EventDetector.Detect("/srv/projects", snapshot, new WorkflowTold(), 0, Now.AddHours(1));

        Assert.Equal(["slot_failed", "workflow_blocked"], first.Select(e => e.Type));
        Assert.Equal(first.Select(e => e.Id), again.Select(e => e.Id));
    }

    [Fact]
    public void StuckJob_IsToldOnce()
    {
        var told = new WorkflowTold();
        Assert.Equal(["slot_stuck s1"], Detect(Snapshot(Slot("s1", SlotState.Queued, "j1", stuck: true)), told));
        Assert.Empty(Detect(Snapshot(Slot("s1", SlotState.Queued, "j1", stuck: true)), told));
    }

    [Fact]
    public void WorkflowComplete_IsToldOncePerCompletion()
    {
        var told = new WorkflowTold();
        Assert.Equal(["workflow_complete"], Detect(Snapshot(Slot("s1", SlotState.Complete)), told));
        Assert.Empty(Detect(Snapshot(Slot("s1", SlotState.Complete)), told));

        // A sample added, then complete again: a second completion, with an id of its own.
        Assert.Empty(Detect(Snapshot(Slot("s1", SlotState.Complete), Slot("s2", SlotState.Queued, "j2")), told));
        Assert.Equal(["workflow_complete"], Detect(Snapshot(Slot("s1", SlotState.Complete), Slot("s2", SlotState.Complete)), told));
        Assert.Equal(2, told.Completions);
    }

    [Fact]
    public void WorkflowWithNothingLeftThatCanProgress_IsToldBlockedOnce()
    {
        var told = new WorkflowTold();
        var stuck = Snapshot(Slot("s1", SlotState.Complete), Slot("s2", SlotState.FailedPermanently, "j2"), Slot("s3", SlotState.Blocked));
        Assert.Equal(["slot_failed s2", "workflow_blocked"], Detect(stuck, told));
        Assert.Empty(Detect(stuck, told));
        Assert.Empty(Detect(Snapshot(Slot("s1", SlotState.Complete), Slot("s2", SlotState.Running, "j3"), Slot("s3", SlotState.Waiting)), told));
    }

    [Fact]
    public void ErrorsThatPersistThreePasses_AreToldOnce_UntilTheyEnd()
    {
        var told = new WorkflowTold();
        var broken = Snapshot(Slot("s1", SlotState.Queued, "j1"));
        broken.Errors = [new SnapshotError(Now, "wf.json: analyses[0].queue: required")];

        Assert.Empty(Detect(broken, told, errorPasses: 2));
        Assert.Equal(["workflow_error"], Detect(broken, told, errorPasses: 3));
        Assert.Empty(Detect(broken, told, errorPasses: 4));
    }

    [Fact]
    public void SlackMessage_EscapesValuesFromUsersFiles_SoASampleCannotPingTheChannel()
    {
        var e = EventDetector.Detect("/srv/projects", Snapshot(Slot("<!channel>&x", SlotState.FailedPermanently, "j1")), new WorkflowTold(), 0, Now).First(x => x.Type == "slot_failed");
        var body = System.Text.Json.JsonDocument.Parse(MessageFormats.Slack(new NotificationMessage { Id = "m", Time = Now, Events = [e] })).RootElement;
        var text = body.GetProperty("text").GetString() + body.GetProperty("blocks")[0].GetProperty("text").GetProperty("text").GetString();

        Assert.DoesNotContain("<!channel>", text, StringComparison.Ordinal);
        Assert.Contains("&lt;!channel&gt;&amp;x", text, StringComparison.Ordinal);
    }
}

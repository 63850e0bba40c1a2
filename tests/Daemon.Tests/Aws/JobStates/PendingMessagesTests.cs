using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Aws.JobStates;
using Microsoft.Extensions.Time.Testing;
using static Batchkeeper.Daemon.Tests.Aws.JobStates.JobStateOrderTests;

namespace Batchkeeper.Daemon.Tests.Aws.JobStates;

/// <summary>When an events-queue message may go: once its workflow's snapshot records what it brought.</summary>
public sealed class PendingMessagesTests
{
    private readonly FakeTimeProvider _clock = new();

    private static WorkflowSnapshot Snapshot(params (string JobId, SlotState State, string Status)[] slots) => new()
    {
        Slots = [.. slots.Select((s, i) => new SlotRecord { Sample = $"s{i}", Analysis = "a", JobId = s.JobId, State = s.State, BatchStatus = s.Status })],
    };

    private static void HandOut(JobStateCache cache, string jobId) => cache.Answer([jobId], new Dictionary<string, JobDetail>(), []);

    [Fact]
    public void AMessage_IsDone_OnlyWhenASnapshotRecordsTheStateHandedOut()
    {
        var cache = new JobStateCache(_clock) { EventsHealthy = true };
        var pending = new PendingMessages(cache, _clock);
        cache.ObserveSubmitted("j1", "bk-a", "q");
        Assert.Empty(pending.Published("/p/w.json", Snapshot(("j1", SlotState.Queued, "SUBMITTED"))).Done);

        var running = cache.ObserveEvent(Job(new JobStateKey(0, JobStatus.Running)))!.Value;
        Assert.Equal("/p/w.json", pending.Hold("m1", "h1", "j1", running.Version));
        Assert.Null(pending.Hold("m1", "h1-again", "j1", running.Version)); // a pass is asked for already

        // A pass that ended before the state was handed out does not record it.
        Assert.Empty(pending.Published("/p/w.json", Snapshot(("j1", SlotState.Queued, "SUBMITTED"))).Done);
        HandOut(cache, "j1");
        Assert.Equal(["h1-again"], pending.Published("/p/w.json", Snapshot(("j1", SlotState.Running, "RUNNING"))).Done);
        Assert.Equal(0, pending.Count);
    }

    [Fact]
    public void AMessageThatCameWhileTheAskedPassRan_AsksForOneMorePass_OnlyOnce()
    {
        var cache = new JobStateCache(_clock) { EventsHealthy = true };
        var pending = new PendingMessages(cache, _clock);
        cache.ObserveSubmitted("j1", "bk-a", "q");
        cache.ObserveSubmitted("j2", "bk-b", "q");
        var snapshot = Snapshot(("j1", SlotState.Queued, "SUBMITTED"), ("j2", SlotState.Queued, "SUBMITTED"));
        pending.Published("/p/w.json", snapshot);

        Assert.Equal("/p/w.json", pending.Hold("m1", "h1", "j1", cache.ObserveEvent(Job(new JobStateKey(0, JobStatus.Pending), id: "j1"))!.Value.Version));
        Assert.Null(pending.Hold("m2", "h2", "j2", cache.ObserveEvent(Job(new JobStateKey(0, JobStatus.Pending), id: "j2"))!.Value.Version));

        // The pass asked for read j1 but had read j2 before m2 came: one more pass for m2; when that one fails too, no more.
        HandOut(cache, "j1");
        var (done, again) = pending.Published("/p/w.json", Snapshot(("j1", SlotState.Queued, "PENDING"), ("j2", SlotState.Queued, "SUBMITTED")));
        Assert.Equal(["h1"], done);
        Assert.True(again);
        Assert.False(pending.Published("/p/w.json", snapshot).Reconcile);
        Assert.Equal(1, pending.Count);
    }

    [Fact]
    public void AMessageOfAJobNoSnapshotNamesYet_AsksForAPassOnceOneDoes()
    {
        var cache = new JobStateCache(_clock) { EventsHealthy = true };
        var pending = new PendingMessages(cache, _clock);
        cache.ObserveSubmitted("j1", "bk-a", "q");
        var runnable = cache.ObserveEvent(Job(new JobStateKey(0, JobStatus.Runnable)))!.Value;

        Assert.Null(pending.Hold("m1", "h1", "j1", runnable.Version));
        var (done, reconcile) = pending.Published("/p/w.json", Snapshot(("j1", SlotState.Queued, "SUBMITTED")));
        Assert.Empty(done);
        Assert.True(reconcile);
    }

    [Fact]
    public void AMessageOfAJobItsSlotNoLongerFollows_OrOfARemovedWorkflow_IsDone()
    {
        var cache = new JobStateCache(_clock) { EventsHealthy = true };
        var pending = new PendingMessages(cache, _clock);
        pending.Published("/p/w.json", Snapshot(("j1", SlotState.Running, "RUNNING"), ("j2", SlotState.Running, "RUNNING")));
        pending.Hold("m1", "h1", "j1", 1);
        pending.Hold("m2", "h2", "j2", 1);

        Assert.Equal(["h1"], pending.Published("/p/w.json", Snapshot(("j2", SlotState.Running, "RUNNING"))).Done); // j1 settled: no longer its job
        Assert.Equal(["h2"], pending.Removed("/p/w.json"));
    }

    [Fact]
    public void AMessageHeldTooLong_IsLetGo_ForSqsToDeliverAgain()
    {
        var pending = new PendingMessages(new JobStateCache(_clock), _clock);
        pending.Hold("m1", "h1", "j1", 1);
        _clock.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal(0, pending.Expire(TimeSpan.FromMinutes(4)));
        _clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, pending.Expire(TimeSpan.FromMinutes(4)));
        Assert.Equal(0, pending.Count);
    }
}

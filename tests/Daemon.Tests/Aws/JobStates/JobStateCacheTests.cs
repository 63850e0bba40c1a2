using Batchkeeper.Core.Ports;
using Batchkeeper.Daemon.Aws.JobStates;
using Microsoft.Extensions.Time.Testing;
using BatchSummary = Batchkeeper.Daemon.Aws.Batch.Model.JobSummary;
using static Batchkeeper.Daemon.Tests.Aws.JobStates.JobStateOrderTests;

namespace Batchkeeper.Daemon.Tests.Aws.JobStates;

/// <summary>When the cache answers a pass without asking Batch, and what a listing tells it.</summary>
public sealed class JobStateCacheTests
{
    private readonly FakeTimeProvider _clock = new();

    private static Dictionary<string, JobDetail> Ask(JobStateCache cache, List<string> refresh, params string[] ids)
    {
        var answered = new Dictionary<string, JobDetail>();
        cache.Answer(ids, answered, refresh);
        return answered;
    }

    [Fact]
    public void WithEvents_TheSubmitJobAnswerIsTheRecordOfSubmitted_UntilAnEventMovesTheJobOn()
    {
        var cache = new JobStateCache(_clock) { EventsHealthy = true };
        cache.ObserveSubmitted("j1", "bk-a", "arn:aws:batch:us-east-1:1:job-queue/q");
        var refresh = new List<string>();

        Assert.Equal(JobStatus.Submitted, Ask(cache, refresh, "j1")["j1"].Status);
        cache.ObserveEvent(Job(new JobStateKey(0, JobStatus.Runnable)));
        Assert.Equal(JobStatus.Runnable, Ask(cache, refresh, "j1")["j1"].Status);
        cache.ObserveSubmitted("j1", "bk-a", "q"); // a SubmitJob answer read late changes nothing
        Assert.Equal(JobStatus.Runnable, Ask(cache, refresh, "j1")["j1"].Status);
        Assert.Empty(refresh);
        Assert.Equal("q", cache.QueueOf("j1"));
    }

    [Fact]
    public void WithEvents_AJobOnlyAnEventNamed_IsDescribedOnce_AndAResyncDescribesEveryJobAgain()
    {
        var cache = new JobStateCache(_clock) { EventsHealthy = true };
        cache.ObserveEvent(Job(new JobStateKey(0, JobStatus.Running), id: "from-event"));
        cache.ObserveSubmitted("submitted", "bk-b", "q");
        var refresh = new List<string>();

        var answered = Ask(cache, refresh, "from-event", "submitted");
        Assert.Equal(["from-event"], refresh);
        Assert.Equal(["submitted"], answered.Keys);

        cache.ObserveDescribed(Job(new JobStateKey(0, JobStatus.Running), id: "from-event"));
        refresh.Clear();
        Assert.Equal(2, Ask(cache, refresh, "from-event", "submitted").Count);

        cache.Resync();
        Assert.Empty(Ask(cache, refresh, "from-event", "submitted"));
        Assert.Equal(["from-event", "submitted"], refresh);
    }

    [Fact]
    public void WithoutEvents_AnObservationIsHandedOutOnce_AndNotWhenOlderThanTheLimit()
    {
        var cache = new JobStateCache(_clock) { PollingMaxAge = TimeSpan.FromSeconds(5) };
        cache.ObserveSubmitted("j1", "bk-a", "q");
        var refresh = new List<string>();
        Assert.Empty(Ask(cache, refresh, "j1")); // the SubmitJob answer is no observation for polling: Batch is asked
        Assert.Equal(["j1"], refresh);

        cache.ObserveDescribed(Job(new JobStateKey(0, JobStatus.Pending)));
        var answered = new Dictionary<string, JobDetail>();
        cache.AnswerRefreshed(["j1"], answered);
        Assert.Equal(JobStatus.Pending, answered["j1"].Status);

        refresh.Clear();
        Assert.Empty(Ask(cache, refresh, "j1")); // handed out already: the next pass hears what happened since
        cache.ObserveDescribed(Job(new JobStateKey(0, JobStatus.Runnable)));
        _clock.Advance(TimeSpan.FromSeconds(6));
        Assert.Empty(Ask(cache, refresh, "j1")); // too old for a pass asking now
        cache.ObserveDescribed(Job(new JobStateKey(0, JobStatus.Runnable)));
        Assert.Equal(JobStatus.Runnable, Ask(cache, refresh, "j1")["j1"].Status);
    }

    [Fact]
    public void AJobDescribeJobsLeftOut_IsNotAnswered()
    {
        var cache = new JobStateCache(_clock);
        cache.ObserveSubmitted("j1", "bk-a", "q");
        var answered = new Dictionary<string, JobDetail>();
        cache.AnswerRefreshed(["j1", "unknown"], answered);
        Assert.Empty(answered);
    }

    [Fact]
    public void AListing_MovesListedJobsOn_TakesAStepBackAsARetry_AndNamesTheJobsToDescribe()
    {
        var cache = new JobStateCache(_clock);
        foreach (var (id, status) in new[] { ("running", JobStatus.Running), ("left", JobStatus.Running), ("starting", JobStatus.Starting), ("ended", JobStatus.Succeeded) })
        {
            cache.ObserveSubmitted(id, "bk-" + id, "q");
            cache.ObserveDescribed(Job(new JobStateKey(status.IsActive() ? 0 : 1, status), id: id) with
            {
                Container = new Batchkeeper.Daemon.Aws.Batch.Model.ContainerDetail { LogStreamName = status == JobStatus.Running ? "log/" + id : null },
            });
        }

        var start = cache.Mark();
        cache.ObserveSubmitted("after", "bk-after", "q"); // submitted while the listing ran: not listed, not missing
        var describe = cache.ObserveListing("q", [Summary("running", JobStatus.Runnable), Summary("starting", JobStatus.Running), Summary("foreign", JobStatus.Running)], start);

        Assert.Equal(["starting", "left"], describe); // newly RUNNING without a log stream; active but not listed
        var answered = new Dictionary<string, JobDetail>();
        cache.AnswerRefreshed(["running", "starting", "ended"], answered);
        Assert.Equal(JobStatus.Runnable, answered["running"].Status);
        Assert.Equal(new JobStateKey(1, JobStatus.Runnable), cache.Reported("running")!.Value.Key);
        Assert.Null(answered["running"].LogStream); // a new attempt: the old attempt's stream is not its own
        Assert.Equal(JobStatus.Running, answered["starting"].Status);
        Assert.Equal(JobStatus.Succeeded, answered["ended"].Status); // not listed, but ended already: nothing to describe
        Assert.Equal(4, cache.ActiveIn("q")); // running, starting, after, and left: active as far as known until described
    }

    [Fact]
    public void AListingBegunBeforeAnEvent_NeverMovesTheJobBack_NorTakesItsOlderPageForARetry()
    {
        var cache = new JobStateCache(_clock) { EventsHealthy = true };
        cache.ObserveSubmitted("started", "bk-started", "q");
        cache.ObserveSubmitted("ended", "bk-ended", "q");
        cache.ObserveEvent(Job(new JobStateKey(0, JobStatus.Runnable), id: "ended"));

        // The listing's pages are read; meanwhile events say one job started and the other succeeded.
        var start = cache.Mark();
        cache.ObserveEvent(Job(new JobStateKey(0, JobStatus.Running), id: "started"));
        cache.ObserveEvent(Job(new JobStateKey(1, JobStatus.Succeeded), id: "ended"));
        cache.ObserveListing("q", [Summary("started", JobStatus.Runnable), Summary("ended", JobStatus.Running)], start);

        // RUNNABLE on a page read before RUNNING is old news, not a second attempt; an ended job stays ended.
        Assert.Equal(new JobStateKey(0, JobStatus.Running), Reported(cache, "started"));
        Assert.Equal(new JobStateKey(1, JobStatus.Succeeded), Reported(cache, "ended"));
    }

    private static JobStateKey Reported(JobStateCache cache, string id)
    {
        var refresh = new List<string>();
        Ask(cache, refresh, id);
        Assert.Empty(refresh);
        return cache.Reported(id)!.Value.Key;
    }

    [Fact]
    public void QueueName_IsTheNameOfAnArn_AndANameAsItIs()
    {
        Assert.Equal("spot", JobStateCache.QueueName("arn:aws:batch:us-east-1:123456789012:job-queue/spot"));
        Assert.Equal("spot", JobStateCache.QueueName("spot"));
    }

    private static BatchSummary Summary(string id, JobStatus status) => new() { JobId = id, JobName = "bk-" + id, Status = status.ToWire() };
}

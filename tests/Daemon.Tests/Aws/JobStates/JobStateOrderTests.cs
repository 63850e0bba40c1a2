using Batchkeeper.Core.Ports;
using Batchkeeper.Daemon.Aws.JobStates;
using FsCheck;
using FsCheck.Xunit;
using Microsoft.Extensions.Time.Testing;
using BatchJob = Batchkeeper.Daemon.Aws.Batch.Model.JobDetail;

namespace Batchkeeper.Daemon.Tests.Aws.JobStates;

/// <summary>
/// The order of a job's states (attempts, then status rank; an end wins) and what the cache makes of events delivered
/// at least once and in any order: never a state older than one handed out, duplicates and stale states ignored.
/// </summary>
public sealed class JobStateOrderTests
{
    [Theory]
    [InlineData(0, JobStatus.Running, 1, JobStatus.Runnable)] // Batch's retry: back to RUNNABLE with one more attempt
    [InlineData(0, JobStatus.Pending, 0, JobStatus.Runnable)]
    [InlineData(0, JobStatus.Submitted, 0, JobStatus.Pending)]
    [InlineData(0, JobStatus.Starting, 0, JobStatus.Running)]
    [InlineData(5, JobStatus.Running, 0, JobStatus.Failed)] // an end wins over any active state
    [InlineData(3, JobStatus.Runnable, 1, JobStatus.Succeeded)]
    public void LaterInTheJobsLife_IsGreater(int attempts, JobStatus status, int laterAttempts, JobStatus laterStatus)
    {
        var earlier = new JobStateKey(attempts, status);
        var later = new JobStateKey(laterAttempts, laterStatus);

        Assert.True(later > earlier);
        Assert.True(earlier < later);
        Assert.True(JobStateKey.IsNewer(later, earlier));
        Assert.False(JobStateKey.IsNewer(earlier, later));
    }

    [Fact]
    public void TheSameStateTwice_IsNotNewer_NorAreTwoEndsOfOneAttempt()
    {
        Assert.False(JobStateKey.IsNewer(new JobStateKey(0, JobStatus.Running), new JobStateKey(0, JobStatus.Running)));
        Assert.Equal(0, new JobStateKey(1, JobStatus.Succeeded).CompareTo(new JobStateKey(1, JobStatus.Failed)));
        Assert.True(JobStateKey.IsNewer(new JobStateKey(0, JobStatus.Submitted), null));
    }

    [Theory]
    [InlineData(JobStatus.Runnable, 0, JobStatus.Running, 1)] // listed RUNNABLE after RUNNING: a retry
    [InlineData(JobStatus.Running, 0, JobStatus.Runnable, 0)]
    [InlineData(JobStatus.Running, 2, JobStatus.Running, 2)]
    [InlineData(JobStatus.Runnable, 1, JobStatus.Failed, 1)] // an ended job does not start again
    public void ListedStatusWithoutAttempts_IsARetryOnlyWhenItGoesBack(JobStatus listed, int knownAttempts, JobStatus known, int expected) =>
        Assert.Equal(expected, JobStateKey.InferAttempts(listed, new JobStateKey(knownAttempts, known)));

    /// <summary>
    /// Whatever order a job's events arrive in, however often each, with passes asking in between and the SubmitJob
    /// answer anywhere among them: the states handed out only move forward and the last one is the job's end.
    /// </summary>
    [Property(MaxTest = 300)]
    public void EventsInAnyOrder_WithDuplicates_AreHandedOutInTheOrderOfTheJobsLife(int seed, byte retries, bool succeeds)
    {
        var random = new Random(seed);
        var life = Life(retries % 4, succeeds);
        var deliveries = life.Concat(life.Where(_ => random.Next(3) == 0)).OrderBy(_ => random.Next()).ToList();
        var cache = new JobStateCache(new FakeTimeProvider()) { EventsHealthy = true };
        var submittedAt = random.Next(deliveries.Count + 1);
        var handedOut = new List<JobStateKey>();

        for (var i = 0; i <= deliveries.Count; i++)
        {
            if (i == submittedAt)
            {
                cache.ObserveSubmitted("j1", "bk-job", "q");
            }

            if (i < deliveries.Count)
            {
                cache.ObserveEvent(Job(deliveries[i]));
            }

            if (random.Next(2) == 0 && i >= submittedAt)
            {
                var answered = new Dictionary<string, JobDetail>();
                cache.Answer(["j1"], answered, []);
                handedOut.Add(cache.Reported("j1")!.Value.Key);
            }
        }

        var final = new Dictionary<string, JobDetail>();
        cache.Answer(["j1"], final, []);
        handedOut.Add(cache.Reported("j1")!.Value.Key);

        Assert.Equal(handedOut.OrderBy(k => k), handedOut);
        Assert.Equal(life[^1].Status, final["j1"].Status);
        Assert.Equal(life[^1], handedOut[^1]);
    }

    [Property(MaxTest = 100)]
    public void AnEventSeenBefore_ChangesNothing(int seed, byte retries)
    {
        var random = new Random(seed);
        var life = Life(retries % 3, succeeds: true);
        var cache = new JobStateCache(new FakeTimeProvider());
        foreach (var state in life)
        {
            cache.ObserveEvent(Job(state));
        }

        var again = life[random.Next(life.Count)];
        Assert.False(cache.ObserveEvent(Job(again))!.Value.Changed);
    }

    /// <summary>The states Batch sends events for, as the emulator does: PENDING, then per attempt RUNNABLE, STARTING, RUNNING, then the end.</summary>
    internal static List<JobStateKey> Life(int retries, bool succeeds)
    {
        var life = new List<JobStateKey> { new(0, JobStatus.Pending) };
        for (var attempt = 0; attempt <= retries; attempt++)
        {
            life.Add(new JobStateKey(attempt, JobStatus.Runnable));
            life.Add(new JobStateKey(attempt, JobStatus.Starting));
            life.Add(new JobStateKey(attempt, JobStatus.Running));
        }

        life.Add(new JobStateKey(retries + 1, succeeds ? JobStatus.Succeeded : JobStatus.Failed));
        return life;
    }

    internal static BatchJob Job(JobStateKey state, string id = "j1", string queue = "arn:aws:batch:us-east-1:123456789012:job-queue/q") => new()
    {
        JobId = id,
        JobName = "bk-job",
        JobQueue = queue,
        JobDefinition = "arn:aws:batch:us-east-1:123456789012:job-definition/d:1",
        Status = state.Status.ToWire(),
        Attempts = [.. Enumerable.Range(0, state.Attempts).Select(_ => new Batchkeeper.Daemon.Aws.Batch.Model.AttemptDetail())],
    };
}

using System.Net;
using System.Text.Json;
using Batchkeeper.BatchEmulator.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Batchkeeper.BatchEmulator.Tests;

/// <summary>Batch's job state machine, driven over HTTP with a plain HttpClient.</summary>
public sealed class StateMachineTests
{
    [Fact]
    public async Task Job_WithoutDependencies_GoesThroughTheStatesInOrder_AndStartedAtAppearsOnlyWhenRunning()
    {
        var slow = TimeSpan.FromMilliseconds(100);
        await using var emulator = await BatchEmulator.StartAsync(new BatchEmulatorOptions
        {
            SubmittedDuration = slow, PendingDuration = slow, RunnableDuration = slow, StartingDuration = slow, RunDuration = slow,
        });
        using var http = new BatchHttp(emulator.BaseAddress);

        var id = await http.SubmitAsync("plain-1");
        var seen = new HashSet<string>();
        var final = await http.WaitForAsync(id, job =>
        {
            var status = job.Status();
            seen.Add(status);
            Assert.True(
                status is "RUNNING" or "SUCCEEDED" or "FAILED" || !job.Has("startedAt"),
                $"startedAt present in {status}: {job}");
            Assert.True(status is "SUCCEEDED" or "FAILED" || !job.Has("stoppedAt"), $"stoppedAt present in {status}");
            return status is "SUCCEEDED" or "FAILED";
        }, "final");

        var history = emulator.GetJob(id)!.History;
        Assert.Equal(["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"], history.Select(h => h.Status));
        Assert.All(history.Zip(history.Skip(1)), pair => Assert.True(
            pair.Second.At - pair.First.At >= slow - TimeSpan.FromMilliseconds(2), $"{pair.First.Status} lasted {pair.Second.At - pair.First.At}"));
        Assert.Contains("SUBMITTED", seen); // DescribeJobs shows a job at once (no visibility delay set)
        Assert.Equal(0, final.GetProperty("container").GetProperty("exitCode").GetInt32());
        Assert.True(final.GetProperty("stoppedAt").GetInt64() - final.GetProperty("startedAt").GetInt64() >= slow.TotalMilliseconds - 1);
        Assert.NotNull(final.GetProperty("container").Str("logStreamName"));
    }

    [Fact]
    public async Task Dependants_OfAFailedJob_FailWithDependentJobFailed_AndNeverRun()
    {
        await using var emulator = await BatchEmulator.StartAsync();
        using var http = new BatchHttp(emulator.BaseAddress);
        await http.ControlAsync(HttpMethod.Post, "faults/rules", new { namePrefix = "up-", exitCode = 3 });

        var up = await http.SubmitAsync("up-1");
        var down = await http.SubmitAsync("down-1", dependsOn: [up]);
        var downstream = await http.SubmitAsync("down-2", dependsOn: [down]);
        var pendingDown = await http.WaitForAsync(down, j => j.Status() is "PENDING" or "FAILED", "PENDING");

        var failedUp = await http.WaitForFinalAsync(up);
        var failedDown = await http.WaitForFinalAsync(down);
        var failedDownstream = await http.WaitForFinalAsync(downstream);

        Assert.Equal("PENDING", pendingDown.Status());
        Assert.Equal("FAILED", failedUp.Status());
        Assert.Equal(3, failedUp.GetProperty("container").GetProperty("exitCode").GetInt32());
        foreach (var job in new[] { failedDown, failedDownstream })
        {
            Assert.Equal("FAILED", job.Status());
            Assert.Equal("Dependent Job failed", job.Str("statusReason"));
            Assert.False(job.Has("startedAt"), $"a dependant of a failed job ran: {job}");
            Assert.Equal(0, job.GetProperty("attempts").GetArrayLength());
            Assert.False(job.GetProperty("container").Has("exitCode"));
        }

        Assert.Equal(0, emulator.GetJob(down)!.AttemptCount);
    }

    [Fact]
    public async Task Dependant_WaitsInPending_UntilItsUpstreamSucceeds()
    {
        await using var emulator = await BatchEmulator.StartAsync();
        using var http = new BatchHttp(emulator.BaseAddress);
        await http.ControlAsync(HttpMethod.Post, "faults/rules", new { namePrefix = "slow-", fail = false, runDuration = 1500 });

        var up = await http.SubmitAsync("slow-1");
        var down = await http.SubmitAsync("after-slow-1", dependsOn: [up]);
        await http.WaitForStatusAsync(up, "RUNNING");
        var whileUpRuns = await http.DescribeAsync(down);
        var upDone = await http.WaitForStatusAsync(up, "SUCCEEDED");
        var downDone = await http.WaitForStatusAsync(down, "SUCCEEDED");

        Assert.Equal("PENDING", whileUpRuns!.Value.Status());
        Assert.True(downDone.GetProperty("startedAt").GetInt64() >= upDone.GetProperty("stoppedAt").GetInt64());
        var downHistory = emulator.GetJob(down)!.History;
        var pendingUntil = downHistory.Single(h => h.Status == "RUNNABLE").At;
        Assert.True(pendingUntil >= emulator.GetJob(up)!.StoppedAt, "the dependant left PENDING before its upstream SUCCEEDED");
    }

    [Fact]
    public async Task FailureRule_ForTheFirstTwoAttemptsOfAName_FailsThoseAttempts_ThenLetsTheNameSucceed()
    {
        await using var emulator = await BatchEmulator.StartAsync();
        using var http = new BatchHttp(emulator.BaseAddress);
        await http.ControlAsync(HttpMethod.Post, "faults/rules", new
        {
            namePrefix = "oom-", exitCode = 137, containerReason = "OutOfMemoryError: Container killed due to memory usage", firstAttempts = 2,
        });

        var outcomes = new List<JsonElement>();
        for (var i = 0; i < 3; i++)
        {
            outcomes.Add(await http.WaitForFinalAsync(await http.SubmitAsync("oom-sample1"))); // the daemon's resubmissions
        }

        var otherName = await http.WaitForFinalAsync(await http.SubmitAsync("oom-sample2"));
        var unmatched = await http.WaitForFinalAsync(await http.SubmitAsync("fine-sample1"));

        foreach (var failed in outcomes.Take(2).Append(otherName))
        {
            Assert.Equal("FAILED", failed.Status());
            Assert.Equal(137, failed.GetProperty("container").GetProperty("exitCode").GetInt32());
            Assert.Equal("OutOfMemoryError: Container killed due to memory usage", failed.GetProperty("container").Str("reason"));
            Assert.Equal("Essential container in task exited", failed.Str("statusReason"));
            Assert.Equal(137, failed.GetProperty("attempts")[0].GetProperty("container").GetProperty("exitCode").GetInt32());
        }

        Assert.Equal("SUCCEEDED", outcomes[2].Status());
        Assert.Equal("SUCCEEDED", unmatched.Status());
        Assert.Equal([1, 2, 3], emulator.Jobs.Where(j => j.JobName == "oom-sample1").Select(j => j.NameAttempt));
    }

    [Fact]
    public async Task RetryStrategy_RetriesInsideBatch_AndEvaluateOnExitCanStopIt()
    {
        await using var emulator = await BatchEmulator.StartAsync();
        emulator.Faults.AddJobRule(new JobFaultRule { NamePrefix = "flaky-", FirstAttempts = 1, ExitCode = 2 });
        using var http = new BatchHttp(emulator.BaseAddress);

        var retried = await http.WaitForFinalAsync(await http.SubmitAsync("flaky-a", retryStrategy: new { attempts = 2 }));
        var stopped = await http.WaitForFinalAsync(await http.SubmitAsync("flaky-b", retryStrategy: new
        {
            attempts = 3, evaluateOnExit = new[] { new { onExitCode = "2*", action = "EXIT" } },
        }));

        Assert.Equal("SUCCEEDED", retried.Status());
        Assert.Equal([2, 0], retried.GetProperty("attempts").EnumerateArray().Select(a => a.GetProperty("container").GetProperty("exitCode").GetInt32()));
        Assert.Equal("FAILED", stopped.Status());
        Assert.Equal(1, stopped.GetProperty("attempts").GetArrayLength());
    }

    [Fact]
    public async Task Terminate_FailsARunningJob_WhileCancel_LeavesItRunning_AndCancelsOnlyBeforeStarting()
    {
        await using var emulator = await BatchEmulator.StartAsync();
        using var http = new BatchHttp(emulator.BaseAddress);
        await http.ControlAsync(HttpMethod.Post, "faults/rules", new { namePrefix = "long-", fail = false, runDuration = "00:01:00" });

        var running = await http.SubmitAsync("long-1");
        var waiting = await http.SubmitAsync("waits-for-long-1", dependsOn: [running]);
        await http.WaitForStatusAsync(running, "RUNNING");

        var cancelRunning = await http.CallAsync("CancelJob", new { jobId = running, reason = "cancel while running" });
        var stillRunning = await http.DescribeAsync(running);
        var cancelPending = await http.CallAsync("CancelJob", new { jobId = waiting, reason = "not needed" });
        var terminate = await http.CallAsync("TerminateJob", new { jobId = running, reason = "stopped by test" });
        var terminated = await http.WaitForFinalAsync(running);
        var cancelled = await http.WaitForFinalAsync(waiting);
        var terminateAgain = await http.CallAsync("TerminateJob", new { jobId = running, reason = "again" });
        var unknown = await http.CallAsync("TerminateJob", new { jobId = "no-such-job", reason = "x" });

        Assert.Equal(HttpStatusCode.OK, cancelRunning.Status);
        Assert.Equal("RUNNING", stillRunning!.Value.Status());
        Assert.Equal(HttpStatusCode.OK, cancelPending.Status);
        Assert.Equal(HttpStatusCode.OK, terminate.Status);
        Assert.Equal("FAILED", terminated.Status());
        Assert.Equal("stopped by test", terminated.Str("statusReason"));
        Assert.True(terminated.GetProperty("isTerminated").GetBoolean());
        Assert.True(terminated.Has("startedAt"));
        Assert.Equal("FAILED", cancelled.Status());
        Assert.Equal("not needed", cancelled.Str("statusReason"));
        Assert.True(cancelled.GetProperty("isCancelled").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, terminateAgain.Status);
        Assert.Equal("stopped by test", (await http.DescribeAsync(running))!.Value.Str("statusReason")); // final: a no-op
        Assert.Equal(HttpStatusCode.BadRequest, unknown.Status);
        Assert.Equal("ClientException", unknown.ErrorType);
    }

    [Theory]
    [InlineData("host", "Host EC2 (instance i-0123456789abcdef0) terminated.", null, true)]
    [InlineData("spot", "Your Spot Task was interrupted.", null, true)]
    [InlineData("pull", "Task failed to start", "CannotPullContainerError: ", false)]
    public async Task InfrastructureFailureRules_LookAsBatchReportsThem(string kind, string statusReason, string? reasonPrefix, bool started)
    {
        await using var emulator = await BatchEmulator.StartAsync();
        emulator.Faults.AddJobRule(kind switch
        {
            "host" => JobFaultRule.HostTerminated("infra-"),
            "spot" => JobFaultRule.SpotInterrupted("infra-"),
            _ => JobFaultRule.CannotPullContainer("infra-"),
        });
        using var http = new BatchHttp(emulator.BaseAddress);

        var job = await http.WaitForFinalAsync(await http.SubmitAsync("infra-" + kind));

        Assert.Equal("FAILED", job.Status());
        Assert.Equal(statusReason, job.Str("statusReason"));
        Assert.False(job.GetProperty("container").Has("exitCode"));
        Assert.Equal(started, job.Has("startedAt"));
        if (reasonPrefix is not null)
        {
            Assert.StartsWith(reasonPrefix, job.GetProperty("container").Str("reason"), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task StuckRunnableRule_KeepsTheJobRunnableWithItsReason_UntilTheRuleGoesOrTheJobIsTerminated()
    {
        const string Reason = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement (vCPU/memory/GPU) is higher than that can be met by the CE(s) attached to the job queue.";
        await using var emulator = await BatchEmulator.StartAsync();
        using var http = new BatchHttp(emulator.BaseAddress);
        await http.ControlAsync(HttpMethod.Post, "faults/rules", new { namePrefix = "stuck-", stuckRunnableReason = Reason });

        var stuck = await http.SubmitAsync("stuck-1");
        var terminated = await http.SubmitAsync("stuck-2");
        var free = await http.SubmitAsync("free-1");
        await http.WaitForStatusAsync(stuck, "RUNNABLE");
        var freeDone = await http.WaitForFinalAsync(free);
        var waiting = (await http.DescribeAsync(stuck))!.Value;
        var listed = await http.CallAsync("ListJobs", new { jobQueue = "q", filters = new[] { new { name = "JOB_NAME", values = new[] { "stuck-1" } } } });

        // The free job went all the way through meanwhile; the stuck one never left RUNNABLE.
        Assert.Equal("SUCCEEDED", freeDone.Status());
        Assert.Equal("RUNNABLE", waiting.Status());
        Assert.Equal(Reason, waiting.Str("statusReason"));
        Assert.False(waiting.Has("startedAt"));
        Assert.Equal(Reason, listed.Body.GetProperty("jobSummaryList")[0].Str("statusReason"));
        Assert.Equal(0, emulator.GetJob(stuck)!.AttemptCount);

        var terminate = await http.CallAsync("TerminateJob", new { jobId = terminated, reason = "gave up waiting" });
        var terminatedJob = await http.WaitForFinalAsync(terminated);
        await http.ControlAsync(HttpMethod.Delete, "faults/rules");
        var released = await http.WaitForFinalAsync(stuck);

        Assert.Equal(HttpStatusCode.OK, terminate.Status);
        Assert.Equal("FAILED", terminatedJob.Status());
        Assert.Equal("gave up waiting", terminatedJob.Str("statusReason"));
        Assert.False(terminatedJob.Has("startedAt"));
        Assert.Equal("SUCCEEDED", released.Status());
        Assert.Equal("Essential container in task exited", released.Str("statusReason"));
        var history = emulator.GetJob(stuck)!;
        Assert.Equal(["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"], history.History.Select(h => h.Status));
        Assert.Equal((1, 1), (history.AttemptCount, history.NameAttempt)); // the waiting was not an attempt
    }

    [Fact]
    public async Task MaxRunningJobs_KeepsTheRestRunnable()
    {
        await using var emulator = await BatchEmulator.StartAsync(new BatchEmulatorOptions
        {
            MaxRunningJobs = 1, RunDuration = TimeSpan.FromMilliseconds(300),
        });
        using var http = new BatchHttp(emulator.BaseAddress);

        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await http.SubmitAsync($"capacity-{i}"));
        }

        await emulator.WaitUntilAsync(jobs => jobs.All(j => j.IsFinal), TimeSpan.FromSeconds(15));

        // From STARTING to the end, the jobs' busy spans must not overlap.
        var spans = emulator.Jobs
            .Select(j => (From: j.History.Single(h => h.Status == "STARTING").At, To: j.StoppedAt!.Value))
            .OrderBy(s => s.From)
            .ToList();
        Assert.All(emulator.Jobs, j => Assert.Equal("SUCCEEDED", j.Status));
        Assert.All(spans.Zip(spans.Skip(1)), pair => Assert.True(pair.Second.From >= pair.First.To, $"{pair.First} overlaps {pair.Second}"));
    }

    [Fact]
    public async Task DescribeVisibilityDelay_HidesANewJobFromDescribeAndList_ForThatLong()
    {
        // On a clock of the test's own: hidden a millisecond before the delay, visible at it, however slow the machine.
        var clock = new FakeTimeProvider();
        await using var emulator = await BatchEmulator.StartAsync(new BatchEmulatorOptions { DescribeVisibilityDelay = TimeSpan.FromSeconds(1), TimeProvider = clock });
        using var http = new BatchHttp(emulator.BaseAddress);

        var id = await http.SubmitAsync("eventual-1");
        var describedAtOnce = await http.DescribeAsync(id);
        var listedAtOnce = await ListAsync(http);
        clock.Advance(TimeSpan.FromMilliseconds(999));
        var describedJustBefore = await http.DescribeAsync(id);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var describedAtTheDelay = await http.DescribeAsync(id);
        var listedAtTheDelay = await ListAsync(http);

        Assert.Null(describedAtOnce);
        Assert.Equal(0, listedAtOnce.Body.GetProperty("jobSummaryList").GetArrayLength());
        Assert.Null(describedJustBefore);
        Assert.NotNull(describedAtTheDelay);
        Assert.Equal(1, listedAtTheDelay.Body.GetProperty("jobSummaryList").GetArrayLength());
        Assert.False(emulator.Jobs.Count == 0, "the hidden job was not kept");
    }

    private static Task<BatchResponse> ListAsync(BatchHttp http) =>
        http.CallAsync("ListJobs", new { jobQueue = "q", filters = new[] { new { name = "JOB_NAME", values = new[] { "eventual-1" } } } });
}

using System.Text.Json;
using Batchkeeper.BatchEmulator;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Workflows;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Aws;

/// <summary>The failure policy of the design, class by class, with the real daemon against the Batch emulator and s3rver.</summary>
public sealed class FailurePolicyEndToEndTests(S3rverFixture s3) : IClassFixture<S3rverFixture>, IDisposable
{
    private readonly TempFolder _folder = new();

    // The s3rver is shared by the class: every test writes under its own prefix.
    private readonly string _prefix = Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => _folder.Dispose();

    private string Workflow(string retry = "\"max_attempts\": 3, \"memory_factor\": 1.5, \"max_memory\": 5000", string parameter = "v1") => $$"""
        {
          "workflow_name": "policy",
          "analyses": [
            { "name": "align", "job_definition": "align:1", "queue": "q",
              "parameters": { "version": "{{parameter}}" },
              "command": ["align", "{sample_name}"], "containerOverrides": { "vcpus": 2, "memory": 2000 },
              "retry": { {{retry}} },
              "outputs": ["s3://results/{{_prefix}}/{sample_name}.bam"] }
          ]
        }
        """;

    private async Task<(Emulator Emulator, TestDaemon Daemon, string Workflow)> StartAsync(FaultSettings faults, string workflowText)
    {
        var emulator = await Emulator.StartAsync(new BatchEmulatorOptions { S3ServiceUrl = new Uri(s3.Server.ServiceUrl), Faults = faults });
        var daemon = await TestDaemon.StartOnAwsAsync(_folder.Path, emulator.BaseAddress, s3.Server.ServiceUrl);
        Demo.CreateProject(daemon.Projects, "study", ("s1", 1));
        var workflow = daemon.WorkflowPath("study", "policy.json");
        Demo.Drop(workflow, workflowText);
        return (emulator, daemon, workflow);
    }

    private static JsonElement[] Submissions(Emulator emulator) =>
        emulator.RequestsFor(BatchOperations.SubmitJob).Where(r => r.StatusCode == 200).Select(r => JsonDocument.Parse(r.Body).RootElement).ToArray();

    private static string Memory(JsonElement submission) =>
        submission.GetProperty("containerOverrides").GetProperty("resourceRequirements").EnumerateArray()
            .Single(r => r.GetProperty("type").GetString() == "MEMORY").GetProperty("value").GetString()!;

    [Fact]
    public async Task OutOfMemory_IsResubmittedWithMoreMemory_CappedAtMaxMemory_ThenSucceeds()
    {
        var (emulator, daemon, workflow) = await StartAsync(new FaultSettings { JobRules = [JobFaultRule.OutOfMemory("bk-policy-align-", firstAttempts: 2)] }, Workflow());
        await using var e = emulator;
        await using var d = daemon;

        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 1, "the slot completes on the third attempt");
        Assert.Equal(["2000", "3000", "4500"], Submissions(emulator).Select(Memory));
        var slot = Assert.Single(done.Slots);
        Assert.Equal([FailureClass.OutOfMemory, FailureClass.OutOfMemory, null], slot.History.Select(h => h.FailureClass));
        Assert.Equal([137, 137], slot.History.Take(2).Select(h => h.ExitCode ?? -1));
        Assert.Equal([1, 2, 3], slot.History.Select(h => h.Attempt));
        Assert.StartsWith("OutOfMemoryError", slot.History[0].ContainerReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Timeout_IsTimedOut_NotOutOfMemory_AndResubmittedWithTheSameMemory()
    {
        var (emulator, daemon, workflow) = await StartAsync(new FaultSettings { JobRules = [JobFaultRule.TimedOut("bk-policy-align-", firstAttempts: 1)] }, Workflow());
        await using var e = emulator;
        await using var d = daemon;

        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 1, "the slot completes on the second attempt");
        Assert.Equal(["2000", "2000"], Submissions(emulator).Select(Memory));
        var slot = Assert.Single(done.Slots);
        Assert.Equal([FailureClass.TimedOut, null], slot.History.Select(h => h.FailureClass));
        Assert.Equal("Job attempt duration exceeded timeout", slot.History[0].StatusReason);
        Assert.Equal(137, slot.History[0].ExitCode);
        Assert.Contains("timed_out", LogFiles.Read(daemon.LogDirectory), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OutOfMemoryAtMaxMemory_FailsPermanently()
    {
        var (emulator, daemon, workflow) = await StartAsync(new FaultSettings { JobRules = [JobFaultRule.OutOfMemory("bk-policy-align-")] },
            Workflow("\"max_attempts\": 5, \"memory_factor\": 2, \"max_memory\": 4000"));
        await using var e = emulator;
        await using var d = daemon;

        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Failed == 1, "the slot fails for good at max_memory");
        Assert.Equal(["2000", "4000"], Submissions(emulator).Select(Memory));
        Assert.Contains("out of memory at max_memory (4000 MiB)", Assert.Single(done.Slots).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SpotInterruption_IsRetriedWithoutUsingAnAttempt()
    {
        var (emulator, daemon, workflow) = await StartAsync(new FaultSettings { JobRules = [JobFaultRule.SpotInterrupted("bk-policy-align-", firstAttempts: 2)] },
            Workflow("\"max_attempts\": 1"));
        await using var e = emulator;
        await using var d = daemon;

        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 1, "the slot completes after two interruptions with a budget of one attempt");
        var slot = Assert.Single(done.Slots);
        Assert.Equal((1, 2), (slot.Attempt, slot.Interruptions));
        Assert.Equal([FailureClass.Interrupted, FailureClass.Interrupted, null], slot.History.Select(h => h.FailureClass));
        Assert.Equal(["2000", "2000", "2000"], Submissions(emulator).Select(Memory));
    }

    [Fact]
    public async Task CannotPullImage_IsNotRetried_AndItsReasonIsInTheSnapshot()
    {
        var (emulator, daemon, workflow) = await StartAsync(new FaultSettings { JobRules = [JobFaultRule.CannotPullContainer("bk-policy-align-")] }, Workflow());
        await using var e = emulator;
        await using var d = daemon;

        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Failed == 1, "the slot fails for good");
        var slot = Assert.Single(done.Slots);
        Assert.Equal(FailureClass.Misconfigured, slot.FailureClass);
        Assert.Contains("CannotPullContainerError", slot.Message, StringComparison.Ordinal);
        Assert.Single(Submissions(emulator));
    }

    [Fact]
    public async Task GenericFailure_StopsAfterMaxAttempts_ThenAnEditAndARetryRequestEachRestartTheBudget()
    {
        var failing = new JobFaultRule { NamePrefix = "bk-policy-align-", ExitCode = 3 };
        var (emulator, daemon, workflow) = await StartAsync(new FaultSettings { JobRules = [failing] }, Workflow("\"max_attempts\": 2"));
        await using var e = emulator;
        await using var d = daemon;

        var failed = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Failed == 1, "the slot fails for good after two attempts");
        Assert.Equal(2, Submissions(emulator).Length);
        Assert.Contains("failed on all 2 attempts", Assert.Single(failed.Slots).Message, StringComparison.Ordinal);
        var firstName = failed.Slots[0].JobName;

        // An edit of the analysis: a new job name and a fresh budget of two.
        Demo.Drop(workflow, Workflow("\"max_attempts\": 2", parameter: "v2"));
        var edited = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Failed == 1 && s.Slots[0].JobName != firstName, "the edited slot fails for good again");
        Assert.Equal(4, Submissions(emulator).Length);
        Assert.Equal(2, Submissions(emulator).Count(b => b.GetProperty("jobName").GetString() == edited.Slots[0].JobName));

        // A retry request after the cause is fixed: a fresh budget, and this time it works.
        emulator.Faults.Reset();
        await RetryRequestFile.AddAsync(workflow, "s1", null, DateTimeOffset.UtcNow, CancellationToken.None);
        var retried = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 1, "the retried slot completes");
        Assert.Equal(5, Submissions(emulator).Length);
        Assert.Equal(3, retried.Slots[0].History.Count);
        await Eventually.WaitAsync(() => !File.Exists(RetryRequestFile.PathFor(workflow)), "the request file is consumed");
    }

    [Fact]
    public async Task CancelledWorkflow_LeavesNoActiveJob()
    {
        var slow = new JobFaultRule { NamePrefix = "bk-policy-", Fail = false, RunDuration = TimeSpan.FromMinutes(5) };
        var (emulator, daemon, workflow) = await StartAsync(new FaultSettings { JobRules = [slow] }, Workflow());
        await using var e = emulator;
        await using var d = daemon;
        Demo.AddSample(Path.Combine(daemon.Projects, "study"), "s2", 1);
        await emulator.WaitUntilAsync(jobs => jobs.Count == 2 && jobs.All(j => j.Status == "RUNNING"), TimeSpan.FromSeconds(30));

        Demo.Drop(workflow, Workflow().Replace("\"workflow_name\": \"policy\",", "\"workflow_name\": \"policy\", \"cancel\": true,", StringComparison.Ordinal));

        var cancelled = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Cancelled == 2, "both slots cancelled");
        await emulator.WaitUntilAsync(jobs => jobs.All(j => j.Status is "SUCCEEDED" or "FAILED"), TimeSpan.FromSeconds(30));
        Assert.All(emulator.Jobs, j => Assert.StartsWith("Cancelled by batchkeeper", j.StatusReason, StringComparison.Ordinal));
        Assert.Equal(2, emulator.RequestsFor(BatchOperations.TerminateJob).Count(r => r.StatusCode == 200));
        Assert.Equal(2, Submissions(emulator).Length);
        Assert.True(cancelled.Cancel);

        // Each termination is logged with the job and its slot (the file sink flushes every second).
        await Eventually.WaitAsync(() =>
        {
            var log = LogFiles.Read(daemon.LogDirectory);
            return emulator.Jobs.All(j => LogFiles.HasLine(log, $"Terminated job {j.JobId}: the workflow is cancelled.", "[study/policy.json sample ", " analysis align"));
        }, "both terminations in the log, each with its slot");
    }
}

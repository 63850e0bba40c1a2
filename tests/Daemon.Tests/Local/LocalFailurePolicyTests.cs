using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Workflows;
using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Local;

/// <summary>The failure policy on the local backend, with real processes.</summary>
public sealed class LocalFailurePolicyTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string Workflow(string firstCommand, string retry = "\"max_attempts\": 3") => $$"""
        {
          "workflow_name": "flaky",
          "analyses": [
            { "name": "first", "job_definition": "x:1", "queue": "local", "retry": { {{retry}} },
              "command": ["sh", "-c", "mkdir -p out && {{firstCommand}}"], "outputs": ["out/{sample_name}.first"] },
            { "name": "second", "job_definition": "y:1", "queue": "local",
              "command": ["sh", "-c", "cp out/{sample_name}.first out/{sample_name}.second"], "outputs": ["out/{sample_name}.second"] }
          ]
        }
        """;

    [Fact]
    public async Task NonZeroExit_IsRetried_AndAttemptTwoSucceeds()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        Demo.CreateProject(daemon.Projects, "study", ("a", 1));
        var workflow = daemon.WorkflowPath("study", "flaky.json");
        Demo.Drop(workflow, Workflow("test {attempt} -ge 2 && echo ok > out/{sample_name}.first"));

        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "both slots complete");
        var first = done.Slots.Single(s => s.Analysis == "first");
        Assert.Equal([1, 2], first.History.Select(h => h.Attempt));
        Assert.Equal((FailureClass.Failed, 1), (first.History[0].FailureClass!.Value, first.History[0].ExitCode!.Value));
    }

    [Fact]
    public async Task KilledProcess_IsClassifiedByItsExitCode137_AndResubmitted()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        var project = Demo.CreateProject(daemon.Projects, "study", ("a", 1));
        var workflow = daemon.WorkflowPath("study", "flaky.json");
        // Attempt 1 waits to be killed; attempt 2 succeeds.
        Demo.Drop(workflow, Workflow("if [ {attempt} -eq 1 ]; then echo $$ > pid; exec sleep 60; fi; echo ok > out/{sample_name}.first"));

        var pidFile = Path.Combine(project, "pid");
        await Eventually.WaitAsync(() => File.Exists(pidFile) && File.ReadAllText(pidFile).Trim().Length > 0, "attempt 1 runs");
        using (var kill = System.Diagnostics.Process.Start("kill", ["-9", File.ReadAllText(pidFile).Trim()]))
        {
            await kill.WaitForExitAsync();
        }

        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "the slot completes on attempt 2");
        var killed = done.Slots.Single(s => s.Analysis == "first").History[0];
        // The design's table reads exit code 137 (SIGKILL, as the kernel's OOM killer sends) as out of memory.
        Assert.Equal((137, FailureClass.OutOfMemory), (killed.ExitCode!.Value, killed.FailureClass!.Value));
    }

    [Fact]
    public async Task Timeout_IsTimedOut_NotOutOfMemory_AndResubmittedWithTheSameMemory()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        Demo.CreateProject(daemon.Projects, "study", ("a", 1));
        var workflow = daemon.WorkflowPath("study", "slow.json");

        // 60 s: the shortest timeout a workflow may give (AWS Batch's minimum, checked for every backend).
        Demo.Drop(workflow, """
            {
              "workflow_name": "slow",
              "analyses": [
                { "name": "slow", "job_definition": "x:1", "queue": "local", "timeout_seconds": 60,
                  "containerOverrides": { "memory": 1000 }, "retry": { "max_attempts": 2, "memory_factor": 1.5 },
                  "command": ["sleep", "600"], "outputs": ["out/{sample_name}"] }
              ]
            }
            """);

        var resubmitted = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Slots.Any(x => x.History.Count == 2), "the first attempt times out and the slot is resubmitted", TimeSpan.FromSeconds(120));
        var slot = Assert.Single(resubmitted.Slots);
        Assert.Equal(FailureClass.TimedOut, slot.History[0].FailureClass);
        Assert.Equal("Job attempt duration exceeded timeout", slot.History[0].StatusReason);
        Assert.Equal(137, slot.History[0].ExitCode);
        Assert.Equal([1000, 1000], slot.History.Select(h => h.Memory ?? 0));
        Assert.Equal(2, slot.Attempt);
        var log = LogFiles.Read(daemon.LogDirectory);
        Assert.Contains("timed_out", log, StringComparison.Ordinal);
        Assert.Contains("Timed out: resubmitting with the same memory", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BlockedDownstream_ResumesByItselfOnceAnEditFixesItsUpstream_AndARetryRequestRestartsAFailedSlot()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        var project = Demo.CreateProject(daemon.Projects, "study", ("a", 1), ("b", 1));
        var workflow = daemon.WorkflowPath("study", "flaky.json");
        Demo.Drop(workflow, Workflow("test -f ok-{sample_name} && echo ok > out/{sample_name}.first", "\"max_attempts\": 1"));

        var blocked = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Failed == 2 && s.Summary.Blocked == 2, "both samples fail and block their second analysis");
        Assert.All(blocked.Slots.Where(s => s.Analysis == "second"), s => Assert.Contains("'first'", s.Message, StringComparison.Ordinal));

        // Sample a: a retry request once the cause is fixed.
        await File.WriteAllTextAsync(Path.Combine(project, "ok-a"), "");
        await RetryRequestFile.AddAsync(workflow, "a", "first", DateTimeOffset.UtcNow, CancellationToken.None);
        var retried = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Slots.Count(x => x.Sample == "a" && x.State == SlotState.Complete) == 2, "sample a completes after the retry request");
        Assert.Equal(SlotState.FailedPermanently, retried.Slots.Single(s => s.Sample == "b" && s.Analysis == "first").State);

        // Sample b: an edit of the analysis gives it a fresh budget, and its blocked downstream resumes by itself.
        Demo.Drop(workflow, Workflow("echo ok > out/{sample_name}.first", "\"max_attempts\": 1"));
        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 4, "everything completes after the edit");
        Assert.Equal("ok", File.ReadAllText(Path.Combine(project, "out", "b.second")).Trim());
    }
}

using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Local;

/// <summary>
/// When a pass of a local workflow runs and what it credits (issue 16, items 13–15 and 19), with the real daemon and
/// real processes. The scheduled pass is made five minutes apart, so that only the pass the change under test asks for
/// can show what the test waits for, within seconds.
/// </summary>
public sealed class LocalPassTimingTests : IDisposable
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(15);

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private Task<TestDaemon> StartAsync(string backoff = "00:00:00.200", string interval = "00:05:00", string grace = "00:01:00") => TestDaemon.StartAsync(_folder.Path, new Dictionary<string, string?>
    {
        ["Batchkeeper:ReconcileInterval"] = interval,
        ["Batchkeeper:Retry:Backoff"] = backoff,
        ["Batchkeeper:OutputGracePeriod"] = grace,
    });

    private static string OneAnalysis(string command, int maxAttempts = 3) => $$"""
        {
          "workflow_name": "timing",
          "analyses": [
            { "name": "work", "job_definition": "w:1", "queue": "local", "retry": { "max_attempts": {{maxAttempts}} },
              "command": ["sh", "-c", {{System.Text.Json.JsonSerializer.Serialize(command)}}], "outputs": ["out/{sample_name}"] }
          ]
        }
        """;

    [Fact]
    public async Task ALocalJobsStart_ReachesTheSnapshotWithinSeconds_NotAtTheNextScheduledPass()
    {
        await using var daemon = await StartAsync();
        var project = Demo.CreateProject(daemon.Projects, "study", ("a", 1));
        var workflow = daemon.WorkflowPath("study", "timing.json");
        // The job holds until the test lets it go: it is RUNNING for as long as the test looks.
        Demo.Drop(workflow, OneAnalysis("while [ ! -e release ]; do sleep 0.05; done; mkdir -p out; echo ok > out/{sample_name}"));

        var running = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Slots.Any(x => x.State == SlotState.Running), "the job shows as running", Soon);
        var slot = Assert.Single(running.Slots);
        Assert.NotNull(slot.StartedAt);
        Assert.Equal("RUNNING", slot.BatchStatus);

        File.WriteAllText(Path.Combine(project, "release"), "");
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 1, "the released job completes the slot", Soon);
    }

    [Fact]
    public async Task ARetry_GetsItsPassAtNextAttemptAt_NotAtTheNextScheduledPass()
    {
        // 2 s of backoff: attempt 2 comes about 2 s after attempt 1 failed, five minutes before the scheduled pass.
        await using var daemon = await StartAsync(backoff: "00:00:02");
        Demo.CreateProject(daemon.Projects, "study", ("a", 1));
        var workflow = daemon.WorkflowPath("study", "timing.json");
        Demo.Drop(workflow, OneAnalysis("test {attempt} -ge 2 && mkdir -p out && echo ok > out/{sample_name}"));

        var retrying = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Retrying == 1, "attempt 1 fails and the slot waits for its retry", Soon);
        var due = Assert.Single(retrying.Slots).NextAttemptAt!.Value;

        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 1, "attempt 2 runs at its time and completes the slot", Soon);
        var second = Assert.Single(done.Slots).History[1];
        Assert.Equal(2, second.Attempt);
        Assert.True(second.SubmittedAt >= due, $"attempt 2 was submitted at {second.SubmittedAt:O}, before its time {due:O}");
        Assert.True(second.SubmittedAt - due < TimeSpan.FromSeconds(5), $"attempt 2 was submitted at {second.SubmittedAt:O}, long after its time {due:O}");
    }

    [Fact]
    public async Task AJobThatSucceedsWithoutItsOutputs_FailsWhenItsGracePeriodEnds_NotAtTheNextScheduledPass()
    {
        // 2 s of grace: the slot is verifying, then succeeded_without_outputs about 2 s after its job stopped, five
        // minutes before the scheduled pass.
        await using var daemon = await StartAsync(grace: "00:00:02");
        Demo.CreateProject(daemon.Projects, "study", ("a", 1));
        var workflow = daemon.WorkflowPath("study", "timing.json");
        Demo.Drop(workflow, OneAnalysis("true", maxAttempts: 1));

        var failed = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Failed == 1, "the grace period ends and the slot fails", Soon);
        var slot = Assert.Single(failed.Slots);
        Assert.Equal(FailureClass.SucceededWithoutOutputs, slot.FailureClass);
        var stopped = Assert.Single(slot.History).StoppedAt!.Value;
        Assert.True(failed.ReconciledAt - stopped >= TimeSpan.FromSeconds(2), $"the pass that failed it began at {failed.ReconciledAt:O}, within the grace period after the job stopped at {stopped:O}");
        Assert.True(failed.ReconciledAt - stopped < TimeSpan.FromSeconds(10), $"the pass that failed it began at {failed.ReconciledAt:O}, long after the job stopped at {stopped:O}");
    }

    [Fact]
    public async Task AJobKilledAfterWritingItsOutput_CompletesTheSlot_WithAWarningThatItFailed_NotAsTheJobThatMadeIt()
    {
        // Issue 16, item 15: "complete (job 6111…)" named the killed job, then "Job … is FAILED". The output is written
        // before the job is killed; the daemon looks at it once the job has ended.
        await using var daemon = await StartAsync(interval: "00:00:01");
        var project = Demo.CreateProject(daemon.Projects, "study", ("a", 1));
        var workflow = daemon.WorkflowPath("study", "timing.json");
        Demo.Drop(workflow, OneAnalysis("mkdir -p out; echo ok > out/{sample_name}; echo $$ > pid; exec sleep 60", maxAttempts: 1));

        var pidFile = Path.Combine(project, "pid");
        await Eventually.WaitAsync(() => File.Exists(pidFile) && File.ReadAllText(pidFile).Trim().Length > 0, "the job wrote its output and runs on", Soon);
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Slots.All(x => x.State == SlotState.Running), "the slot is running", Soon);
        Signals.Kill(int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture));

        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 1, "the slot completes once its job ended", Soon);
        var jobId = Assert.Single(done.Slots).History.Single().JobId;
        var log = await Eventually.WaitAsync(
            () => Task.FromResult<string?>(LogFiles.Read(daemon.LogDirectory)), l => l!.Contains("Slot is complete", StringComparison.Ordinal), "the log has the completion");
        Assert.True(LogFiles.HasLine(log, "[WRN]", $"Slot is complete: every output exists, although job {jobId} failed (Command exited; exit code 137)", "[study/timing.json sample a analysis work]"), log);
        Assert.DoesNotContain($"job {jobId} succeeded", log, StringComparison.Ordinal);
        Assert.DoesNotContain($"Job {jobId} is FAILED", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ALocalFailure_IsDescribedInTheLocalBackendsWords_NotBatchs()
    {
        // Issue 16, item 19: local slots said "Essential container in task exited", a container that does not exist.
        await using var daemon = await StartAsync();
        Demo.CreateProject(daemon.Projects, "study", ("a", 1));
        var workflow = daemon.WorkflowPath("study", "timing.json");
        Demo.Drop(workflow, OneAnalysis("exit 5", maxAttempts: 1));

        var failed = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Failed == 1, "the slot fails for good", Soon);

        var slot = Assert.Single(failed.Slots);
        Assert.Equal("failed on all 1 attempts; last: Command exited; exit code 5", slot.Message);
        Assert.Equal("Command exited", slot.History[0].StatusReason);
    }
}

using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Batchkeeper.Daemon.Tests.Hosting;

/// <summary>The real daemon on a temporary projects folder, with real processes and real files.</summary>
public sealed class DaemonEndToEndTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static int LocalJobCount(TestDaemon daemon) => Directory.GetFiles(Path.Combine(daemon.WorkDirectory, "jobs"), "*.json").Length;

    [Fact]
    public async Task DroppedWorkflow_Converges_ThenOnlyANewSampleRuns_AndABrokenFileIsReportedWithoutHarm()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        var project = Demo.CreateProject(daemon.Projects, "study", ("s1", 3), ("s2", 5));
        var workflow = daemon.WorkflowPath("study", "wordcount.json");
        Demo.Drop(workflow, Demo.Workflow);

        var first = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 4, "all four slots complete");
        Assert.Equal("s1: 3 words", File.ReadAllText(Path.Combine(project, "results", "s1.report.txt")).Trim());
        Assert.Equal("s2: 5 words", File.ReadAllText(Path.Combine(project, "results", "s2.report.txt")).Trim());
        Assert.All(first.Slots, slot => Assert.Single(slot.History));
        var jobIds = first.Slots.ToDictionary(s => (s.Sample, s.Analysis), s => s.History[0].JobId);
        Assert.Equal(4, LocalJobCount(daemon));

        // A new sample: only its two slots run.
        Demo.AddSample(project, "s3", 7);
        var second = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 6, "the new sample's slots complete");
        Assert.Equal("s3: 7 words", File.ReadAllText(Path.Combine(project, "results", "s3.report.txt")).Trim());
        foreach (var slot in second.Slots.Where(s => s.Sample != "s3"))
        {
            Assert.Equal(jobIds[(slot.Sample, slot.Analysis)], Assert.Single(slot.History).JobId);
        }

        Assert.Equal(6, LocalJobCount(daemon));

        // A broken workflow beside it gets a snapshot that says what is wrong, and the good one is untouched.
        var broken = daemon.WorkflowPath("study", "broken.json");
        Demo.Drop(broken, """{ "workflow_name": "broken", "analyses": [ { "job_definition": "x:1", "outputs": ["out/{sample_name}"] } ] }""");
        var report = await TestDaemon.WaitForSnapshotAsync(broken, s => s.Errors.Count > 0, "the broken workflow's error in its snapshot");
        Assert.Contains(report.Errors, e => e.Message.Contains("broken.json: analyses[0].queue: required", StringComparison.Ordinal));
        Assert.Empty(report.Slots);

        var good = await TestDaemon.ReadSnapshotAsync(workflow);
        Assert.NotNull(good);
        Assert.Empty(good.Errors);
        Assert.Equal(6, good.Summary.Complete);
        Assert.Equal(6, LocalJobCount(daemon));

        // Every job line of the log names project, workflow, sample, analysis and job id.
        var log = await ReadLogAsync(daemon);
        var s3Count = second.Slots.Single(s => s.Sample == "s3" && s.Analysis == "count").JobId;
        Assert.True(LogFiles.HasLine(log, $"Submitted job {s3Count}", "[study/wordcount.json sample s3 analysis count]"), "the submission line names its slot");
        Assert.True(LogFiles.HasLine(log, $"Slot is complete: job {s3Count} succeeded", "[study/wordcount.json sample s3 analysis count]"), "the completion line names its slot and the job that wrote its outputs");
        Assert.Contains("broken.json: analyses[0].queue: required", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BrokenEdit_IsReported_WhileTheLastGoodDefinitionKeepsBeingUsed()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        Demo.CreateProject(daemon.Projects, "study", ("a", 2));
        var workflow = daemon.WorkflowPath("study", "wordcount.json");
        Demo.Drop(workflow, Demo.Workflow);
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "the workflow converges");

        Demo.Drop(workflow, Demo.Workflow.Replace("\"queue\": \"local\",", "\"queue\": 7,", StringComparison.Ordinal));
        var reported = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Errors.Count > 0, "the broken edit is reported");
        Assert.Contains(reported.Errors, e => e.Message.Contains("wordcount.json: analyses[0].queue: expected a non-empty string, got the number 7", StringComparison.Ordinal));
        Assert.Contains(reported.Errors, e => e.Message.Contains("still using the last good definition", StringComparison.Ordinal));
        Assert.Equal(2, reported.Summary.Complete);

        Demo.Drop(workflow, Demo.Workflow);
        var fixedAgain = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Errors.Count == 0, "the error clears once the file is fixed");
        Assert.Equal(2, fixedAgain.Summary.Complete);
        Assert.Equal(2, LocalJobCount(daemon));
    }

    [Fact]
    public async Task HalfWrittenFile_IsReadAgain_NotReported()
    {
        // The settle time is long so that the test writes the second half well before the file is read again.
        await using var daemon = await TestDaemon.StartAsync(_folder.Path, new Dictionary<string, string?> { ["Batchkeeper:SettleTime"] = "00:00:08" });
        Demo.CreateProject(daemon.Projects, "study", ("a", 2));
        var workflow = daemon.WorkflowPath("study", "wordcount.json");

        // Written in place in two pieces, as a slow copy would.
        var text = Demo.Workflow;
        await File.WriteAllTextAsync(workflow, text[..(text.Length / 2)]);
        await Eventually.WaitAsync(() => LogFiles.HasLine(ReadLog(daemon), "does not parse yet", "[study/wordcount.json]"),
            "the daemon reads the half-written file and decides to read it again");
        await File.WriteAllTextAsync(workflow, text);

        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "the workflow converges once whole");
        Assert.Empty(done.Errors);
        Assert.DoesNotContain("cannot be used", ReadLog(daemon), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeletedWorkflow_StopsBeingManaged_DropsItsDashboardRow_AndLeavesItsRunningJobToFinish()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        var project = Demo.CreateProject(daemon.Projects, "study", ("a", 2));
        var workflow = daemon.WorkflowPath("study", "waiting.json");
        // The job runs until the test lets it finish (the loop is the job's work, not the test's wait).
        Demo.Drop(workflow, """
            {
              "workflow_name": "waiting",
              "analyses": [
                { "name": "wait", "job_definition": "x:1", "queue": "local",
                  "command": ["sh", "-c", "while [ ! -e release ]; do sleep 0.05; done; mkdir -p results; echo ok > results/{sample_name}.done"],
                  "outputs": ["results/{sample_name}.done"] }
              ]
            }
            """);
        var running = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Running == 1, "the job runs");
        var jobId = Assert.Single(running.Slots).JobId!;
        var dashboard = Path.Combine(daemon.Projects, "dashboard.json");
        await Eventually.WaitAsync(() => File.Exists(dashboard) && File.ReadAllText(dashboard).Contains("study/waiting.json", StringComparison.Ordinal), "the dashboard lists the workflow");

        File.Delete(workflow);
        await Eventually.WaitAsync(() => !File.ReadAllText(dashboard).Contains("study/waiting.json", StringComparison.Ordinal), "the dashboard drops the workflow");
        await Eventually.WaitAsync(() => ReadLog(daemon).Contains("Workflow study/waiting.json was removed", StringComparison.Ordinal), "the removal is logged");

        // Left alone: still running after the removal, and once released it ends on its own, successfully.
        var backend = daemon.Host.Services.GetRequiredService<IJobBackend>();
        Assert.Equal(JobStatus.Running, Assert.Single(await backend.DescribeAsync([jobId], CancellationToken.None)).Status);
        File.WriteAllText(Path.Combine(project, "release"), "");
        var ended = await Eventually.WaitAsync(
            async () => (await backend.DescribeAsync([jobId], CancellationToken.None)).SingleOrDefault(),
            d => d is not null && d.Status is JobStatus.Succeeded or JobStatus.Failed,
            "the released job ends");
        Assert.Equal(JobStatus.Succeeded, ended.Status);
        Assert.Equal(0, ended.ExitCode);
        Assert.Equal("ok", File.ReadAllText(Path.Combine(project, "results", "a.done")).Trim());
        Assert.DoesNotContain($"Terminated job {jobId}", ReadLog(daemon), StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailingCommand_IsRetriedWithinItsBudget_ThenFailsPermanentlyWithItsExitCode()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        Demo.CreateProject(daemon.Projects, "study", ("a", 2));
        var workflow = daemon.WorkflowPath("study", "failing.json");
        Demo.Drop(workflow, """
            {
              "workflow_name": "failing",
              "analyses": [
                { "name": "first", "job_definition": "x:1", "queue": "local", "command": ["sh", "-c", "echo trying >&2; exit 3"],
                  "outputs": ["results/{sample_name}.never"], "retry": { "max_attempts": 2 } },
                { "name": "second", "job_definition": "y:1", "queue": "local", "command": ["true"], "outputs": ["results/{sample_name}.second"] }
              ]
            }
            """);

        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Failed == 1 && s.Summary.Blocked == 1, "the first slot fails for good and blocks the second");
        var first = done.Slots.Single(s => s.Analysis == "first");
        Assert.Equal(SlotState.FailedPermanently, first.State);
        Assert.Equal(2, first.History.Count);
        Assert.All(first.History, h => Assert.Equal(3, h.ExitCode));
        Assert.All(first.History, h => Assert.Equal(FailureClass.Failed, h.FailureClass));
        Assert.Contains("failed on all 2 attempts", first.Message, StringComparison.Ordinal);
        Assert.Contains("exit code 3", first.Message, StringComparison.Ordinal);
        Assert.Equal("trying", File.ReadAllText(first.History[0].LogStream!).Trim());

        var second = done.Slots.Single(s => s.Analysis == "second");
        Assert.Equal(SlotState.Blocked, second.State);
        Assert.Contains("'first'", second.Message, StringComparison.Ordinal);
    }

    private static string ReadLog(TestDaemon daemon) => LogFiles.Read(daemon.LogDirectory);

    private static async Task<string> ReadLogAsync(TestDaemon daemon)
    {
        // The file sink flushes every second: wait until the newest line is there.
        string text = "";
        await Eventually.WaitAsync(() => LogFiles.HasLine(text = ReadLog(daemon), "Workflow cannot be used", "[study/broken.json]"), "the log file catches up");
        return text;
    }
}

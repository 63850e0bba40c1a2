using System.Text.RegularExpressions;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Logging;

/// <summary>
/// The daemon's log as a person tailing it reads it (issue 16, items 9, 16 and 17): the real daemon, real processes, and
/// the real log file it writes.
/// </summary>
public sealed partial class DaemonLogTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string Workflow(string name, string firstCommand, string extra = "") => $$"""
        {
          "workflow_name": "{{name}}",{{extra}}
          "analyses": [
            { "name": "first", "job_definition": "x:1", "queue": "local", "retry": { "max_attempts": 3 },
              "command": ["sh", "-c", {{System.Text.Json.JsonSerializer.Serialize(firstCommand)}}], "outputs": ["out/{sample_name}.first"] },
            { "name": "second", "job_definition": "y:1", "queue": "local",
              "command": ["sh", "-c", "cp out/{sample_name}.first out/{sample_name}.second"], "outputs": ["out/{sample_name}.second"] }
          ]
        }
        """;

    /// <summary>Waits until the log file has a line holding every one of <paramref name="parts"/>; returns the whole log.</summary>
    private static Task<string> WaitForLineAsync(TestDaemon daemon, string what, params string[] parts) =>
        Eventually.WaitAsync(
            () => Task.FromResult<string?>(LogFiles.Read(daemon.LogDirectory)), log => LogFiles.HasLine(log!, parts), what,
            describe: log => log ?? "");

    [Fact]
    public async Task InvalidSlots_TheLogSaysWhy_OnceWithTheSamples_NotOnlyHowMany()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        Demo.CreateProject(daemon.Projects, "study", ("a", 1), ("b", 2));
        var workflow = daemon.WorkflowPath("study", "typo.json");
        Demo.Drop(workflow, Workflow("typo", "wc -w < inputs/{fille_name} > out/{sample_name}.first"));

        var first = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Invalid == 2, "both samples' first slots are invalid");
        await TestDaemon.WaitForPassAsync(workflow, first.ReconciledAt.AddSeconds(3), "two more passes");
        var log = await WaitForLineAsync(daemon, "the reason in the log",
            "[WRN] 2 slots invalid: typo.json: analyses[0].command[2]: unknown placeholder {fille_name}", "(samples a, b).", "[study/typo.json]");

        Assert.Equal(1, LogFiles.CountLines(log, "slots invalid:", "[study/typo.json]"));
    }

    [Fact]
    public async Task ProgressLine_SaysRetryingWaitingAndCancelled_SoThatRetriesDoNotReadAsIdle()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path, new Dictionary<string, string?> { ["Batchkeeper:Retry:Backoff"] = "00:10:00" });
        Demo.CreateProject(daemon.Projects, "study", ("a", 1));
        var workflow = daemon.WorkflowPath("study", "flaky.json");
        Demo.Drop(workflow, Workflow("flaky", "exit 1"));

        await WaitForLineAsync(daemon, "the progress of a failure waiting for its retry",
            "Workflow progress: 0/2 complete, 1 waiting, 1 retrying.", "[study/flaky.json]");
        Demo.Drop(workflow, Workflow("flaky", "exit 1", "\n  \"cancel\": true,"));
        await WaitForLineAsync(daemon, "the progress of the cancelled workflow", "Workflow progress: 0/2 complete, 2 cancelled.", "[study/flaky.json]");
    }

    [Fact]
    public async Task ASuccessfulLocalJob_IsAtMostThreeLines_SubmittedRunningComplete_WithNoStatusAfterItsEnd()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        var project = Demo.CreateProject(daemon.Projects, "study", ("a", 1));
        var workflow = daemon.WorkflowPath("study", "held.json");
        Demo.Drop(workflow, Workflow("held", "while [ ! -e release ]; do sleep 0.05; done; mkdir -p out; echo ok > out/{sample_name}.first"));
        var running = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Slots.Any(x => x.State == SlotState.Running), "the first job runs");
        var jobId = running.Slots.Single(s => s.Analysis == "first").JobId!;
        File.WriteAllText(Path.Combine(project, "release"), "");
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "both slots complete");

        var log = await WaitForLineAsync(daemon, "the second slot's completion", "Slot is complete: job", "[study/held.json sample a analysis second]");

        var lines = log.Split('\n').Where(l => l.Contains(jobId, StringComparison.Ordinal) && !l.Contains("analysis second", StringComparison.Ordinal)).ToArray();
        Assert.True(lines.Length <= 3, string.Join("\n", lines));
        Assert.Contains($"Submitted job {jobId} ", lines[0], StringComparison.Ordinal);
        Assert.Contains($"Slot is complete: job {jobId} succeeded and every output exists.", lines[^1], StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.Contains("Local job", StringComparison.Ordinal) || l.Contains("is SUCCEEDED", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ACancelAndAFailedDependency_AreNotWarnings_AndTimesAndDurationsAreWrittenForPeople()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        Demo.CreateProject(daemon.Projects, "study", ("a", 1));
        var held = daemon.WorkflowPath("study", "held.json");
        var chain = daemon.WorkflowPath("study", "chain.json");
        Demo.Drop(held, Workflow("held", "while true; do sleep 0.05; done"));
        Demo.Drop(chain, Workflow("chain", "exit 1"));
        await TestDaemon.WaitForSnapshotAsync(held, s => s.Slots.Any(x => x.State == SlotState.Running), "the held job runs");
        await TestDaemon.WaitForSnapshotAsync(chain, s => s.Summary.Failed == 1, "the chain's first analysis fails for good, its second's jobs failing with it");
        Demo.Drop(held, Workflow("held", "while true; do sleep 0.05; done", "\n  \"cancel\": true,"));
        var cancelled = await TestDaemon.WaitForSnapshotAsync(
            held, s => s.Slots.All(x => x.State == SlotState.Cancelled && x.History.All(h => h.Status == "FAILED")), "the held job is terminated and seen ended");

        var jobId = cancelled.Slots.Single(s => s.Analysis == "first").History.Single().JobId;
        var log = await WaitForLineAsync(daemon, "the termination", $"Terminated job {jobId}: the workflow is cancelled.");
        var warnings = log.Split('\n').Where(l => l.Contains("[WRN]", StringComparison.Ordinal)).ToArray();
        Assert.DoesNotContain(warnings, l => l.Contains("cancelled", StringComparison.Ordinal) || l.Contains("Dependent Job failed", StringComparison.Ordinal));
        Assert.Equal(2, warnings.Count(l => l.Contains("Job ", StringComparison.Ordinal) && l.Contains("[study/chain.json sample a analysis first]", StringComparison.Ordinal)));
        Assert.Contains("reconcile every 2 s.", log, StringComparison.Ordinal);
        Assert.DoesNotContain("\"00:", log, StringComparison.Ordinal);
        Assert.DoesNotMatch(SevenDecimals(), log);
    }

    [Fact]
    public async Task AHalfWrittenFile_IsSaidOncePerWrite_HoweverManyPassesReadItMeanwhile()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path, new Dictionary<string, string?>
        {
            ["Batchkeeper:SettleTime"] = "00:00:20",
            ["Batchkeeper:ReconcileInterval"] = "00:00:01",
            ["Serilog:MinimumLevel:Default"] = "Debug",
        });
        Demo.CreateProject(daemon.Projects, "study", ("a", 1));
        var workflow = daemon.WorkflowPath("study", "wordcount.json");
        await File.WriteAllTextAsync(workflow, Demo.Workflow[..(Demo.Workflow.Length / 2)]);

        var log = await Eventually.WaitAsync(
            () => Task.FromResult<string?>(LogFiles.Read(daemon.LogDirectory)),
            l => LogFiles.CountLines(l!, "Pass of study/wordcount.json triggered for", "ended: ReadAgainSoon.") >= 3,
            "three passes that read the half-written file");

        Assert.Equal(1, LogFiles.CountLines(log, "does not parse yet", "[study/wordcount.json]"));
        Assert.True(LogFiles.HasLine(log, "wordcount.json does not parse yet and was written ", " ago (it may still be being copied): reading it again in 20 s."), log);
        Assert.DoesNotMatch(SevenDecimals(), log);
    }

    [Fact]
    public async Task AWorkflowDroppedBesideMetadataBrokenLongAgo_IsReportedAtOnce_NotTakenForAHalfWrittenFile()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path, new Dictionary<string, string?> { ["Batchkeeper:SettleTime"] = "00:00:20" });
        var project = Demo.CreateProject(daemon.Projects, "study", ("a", 1));
        var metadata = Path.Combine(project, "metadata.csv");
        File.WriteAllText(metadata, "id,file_name\r\na,a.txt\r\n");
        File.SetLastWriteTimeUtc(metadata, DateTime.UtcNow.AddHours(-1));
        var workflow = daemon.WorkflowPath("study", "wordcount.json");
        Demo.Drop(workflow, Demo.Workflow);

        var reported = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Errors.Count > 0, "the metadata's error in the snapshot", TimeSpan.FromSeconds(10));

        Assert.Contains(reported.Errors, e => e.Message.Contains("metadata.csv: header: no 'sample_name' column", StringComparison.Ordinal));
        var log = await WaitForLineAsync(daemon, "the error in the log", "Workflow cannot be used: metadata.csv", "[study/wordcount.json]");
        Assert.DoesNotContain("does not parse yet", log, StringComparison.Ordinal);
    }

    /// <summary>A round-trip time (<c>10:54:34.1234567</c>) or a time span (<c>00:00:00.2977536</c>) as .NET writes them.</summary>
    [GeneratedRegex(@"\d\d:\d\d:\d\d\.\d{7}")]
    private static partial Regex SevenDecimals();
}

using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Snapshots;
using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Cli;

/// <summary>
/// <c>status</c> and <c>dashboard</c> as a new user meets them: the real executable on what a real daemon wrote, and
/// <c>status --watch</c> in a real terminal (tmux).
/// </summary>
public sealed class CliStatusTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Projects => _folder.Combine("projects");

    private Task<(int Code, string Out, string Err)> RunAsync(params string[] args) =>
        CliRun.RunAsync(_folder.Path, null, null, ["--projects", Projects, .. args]);

    private static WorkflowSnapshot Snapshot(SlotState state) => new()
    {
        Project = "study",
        Workflow = "wf",
        File = "wf.json",
        Backend = "Local",
        ReconciledAt = DateTimeOffset.UtcNow,
        NextReconcileAt = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(30),
        Slots = [new SlotRecord { Sample = "a", Analysis = "count", State = state, Attempt = 1, MaxAttempts = 3 }],
        Summary = SnapshotSummary.Of([new SlotRecord { State = state }]),
    };

    [Fact]
    public async Task StatusWatch_OnATerminal_RedrawsInPlace_InsteadOfAppendingABlockPerRefresh()
    {
        var project = Demo.CreateProject(Projects, "study", ("a", 1));
        var workflow = Path.Combine(project, "wf.json");
        Demo.Drop(workflow, Demo.Workflow);
        await FileSnapshotStore.SaveAsync(workflow, Snapshot(SlotState.Queued), CancellationToken.None);

        using var terminal = Terminal.Start(_folder.Path, 120, 40, "dotnet", DaemonProcess.Dll, "status", workflow, "--watch", "--interval", "0.1");
        await Eventually.WaitAsync(() => terminal.Screen().Any(l => l.Contains("queued 1", StringComparison.Ordinal)), "the first status on the screen");
        await FileSnapshotStore.SaveAsync(workflow, Snapshot(SlotState.Complete), CancellationToken.None);
        await Eventually.WaitAsync(() => terminal.Screen().Any(l => l.Contains("complete 1", StringComparison.Ordinal)), "a later refresh showing the slot complete");

        // Many refreshes later the screen holds one status, drawn over the last: one header, no plain blocks.
        var screen = terminal.Screen();
        Assert.Single(screen, l => l.StartsWith("study/wf.json: workflow wf, Local backend", StringComparison.Ordinal));
        Assert.Single(screen, l => l.StartsWith("total 1", StringComparison.Ordinal));
        Assert.DoesNotContain(screen, l => l.StartsWith("--- ", StringComparison.Ordinal) || l.Contains("queued 1", StringComparison.Ordinal));
        Assert.Contains(screen, l => l.Contains("Ctrl+C to stop", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Status_OfAWorkflowReachedThroughALinkedProjectFolder_GoesByTheRunningDaemonsDashboardRow()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        Demo.CreateProject(daemon.Projects, "study", ("a", 1));
        var workflow = daemon.WorkflowPath("study", "wordcount.json");
        Demo.Drop(workflow, Demo.Workflow);
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "the workflow complete");
        // A second name for the project inside the root, and a link to it from outside the root.
        Directory.CreateSymbolicLink(Path.Combine(daemon.Projects, "alias"), Path.Combine(daemon.Projects, "study"));
        Directory.CreateSymbolicLink(_folder.Combine("mine"), Path.Combine(daemon.Projects, "study"));

        // The snapshot keeps the time of the last pass that changed it; the dashboard row moves on with every pass, and
        // status says so once it goes by the row: "(its snapshot last changed … ago)".
        await Eventually.WaitAsync(async () => (await Dashboard.ReadAsync(daemon.Projects, CancellationToken.None), await TestDaemon.ReadSnapshotAsync(workflow)),
            r => r.Item1?.Workflows.Any(w => w.File == "study/wordcount.json" && w.ReconciledAt - r.Item2!.ReconciledAt > TimeSpan.FromSeconds(2)) == true,
            "a dashboard row newer than the snapshot", TimeSpan.FromSeconds(30));

        foreach (var path in new[] { workflow, Path.Combine(daemon.Projects, "alias", "wordcount.json"), _folder.Combine("mine", "wordcount.json") })
        {
            var (code, output, error) = await RunAsync("status", path);
            Assert.True(code == 0, $"{path}: exit {code}: {output}{error}");
            Assert.StartsWith("study/wordcount.json: workflow wordcount, Local backend, reconciled ", output, StringComparison.Ordinal);
            Assert.Contains("(its snapshot last changed ", CliRun.Lines(output)[0], StringComparison.Ordinal);
            Assert.DoesNotContain("not reconciled by the running daemon yet", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Status_OfAMissingFile_IsExit2NoSuchFile_AndOfADeletedOne_SaysItIsGone_AndACancelledWorkflowSaysSo()
    {
        var (code, output, error) = await RunAsync("status", Path.Combine(Projects, "nosuch", "x.json"));
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal($"batchkeeper: {Path.Combine(Projects, "nosuch", "x.json")}: no such file", error.Trim());

        var workflow = Path.Combine(Projects, "study", "wordcount.json");
        await using (var daemon = await TestDaemon.StartAsync(_folder.Path))
        {
            Demo.CreateProject(daemon.Projects, "study", ("a", 1));
            Demo.Drop(workflow, Demo.Workflow);
            await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "the workflow complete");
            (code, _, _) = await RunAsync("cancel", workflow, "--yes");
            Assert.Equal(0, code);
            await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Cancel, "the snapshot of the cancelled workflow");
        }

        (code, output, _) = await RunAsync("status", workflow);
        Assert.Equal(0, code);
        Assert.Contains("cancelled: the file sets \"cancel\": true", output, StringComparison.Ordinal);

        File.Delete(workflow);
        (code, output, _) = await RunAsync("status", workflow);
        Assert.Equal(1, code);
        Assert.Contains($"gone: {workflow} no longer exists; this is its last snapshot", output, StringComparison.Ordinal);
        Assert.Contains("total 2  complete 2", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dashboard_ShowsInvalidBlockedAndCancelled_AndExits1WhenARowNeedsAttention()
    {
        var broken = Path.Combine(Projects, "study", "broken.json");
        var failing = Path.Combine(Projects, "study", "failing.json");
        var cancelled = Path.Combine(Projects, "study", "wordcount.json");
        await using (var daemon = await TestDaemon.StartAsync(_folder.Path))
        {
            Demo.CreateProject(daemon.Projects, "study", ("a", 1), ("b", 2));
            Demo.Drop(broken, """{ "workflow_name": "broken", "analyses": [ { "job_definition": "d:1", "queue": "local", "command": ["true"], "outputs": ["out/{nope}"] } ] }""");
            Demo.Drop(failing, """
                { "workflow_name": "failing", "analyses": [
                  { "name": "one", "job_definition": "d:1", "queue": "local", "retry": { "max_attempts": 1 }, "command": ["false"], "outputs": ["out/{sample_name}.1"] },
                  { "name": "two", "job_definition": "d:1", "queue": "local", "command": ["true"], "outputs": ["out/{sample_name}.2"] } ] }
                """);
            Demo.Drop(cancelled, Demo.Workflow.Replace("\"workflow_name\"", "\"cancel\": true, \"workflow_name\"", StringComparison.Ordinal));
            await TestDaemon.WaitForSnapshotAsync(broken, s => s.Summary.Invalid == 2, "two invalid slots");
            await TestDaemon.WaitForSnapshotAsync(failing, s => s.Summary.Failed == 2 && s.Summary.Blocked == 2, "two failed and two blocked slots");
            await TestDaemon.WaitForSnapshotAsync(cancelled, s => s.Cancel, "the cancelled workflow's snapshot");
        }

        var (code, output, _) = await RunAsync("dashboard");

        Assert.Equal(1, code);
        var lines = CliRun.Lines(output)[1..];
        Assert.StartsWith("daemon stopped at ", output, StringComparison.Ordinal);
        Assert.Matches(@"^workflow +complete +running +queued +retrying +failed +blocked +invalid +errors +age$", lines[0]);
        Assert.Matches(@"^study/broken\.json +0/2 +0 +0 +0 +0 +0 +2 +0 +\d+s$", lines[1]);
        Assert.Matches(@"^study/failing\.json +0/4 +0 +0 +0 +2 +2 +0 +0 +\d+s$", lines[2]);
        Assert.Matches(@"^study/wordcount\.json +0/4 +0 +0 +0 +0 +0 +0 +0 +\d+s +cancelled$", lines[3]);
    }
}

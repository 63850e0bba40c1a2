using System.Text.Json;
using Batchkeeper.BatchEmulator;
using Batchkeeper.Daemon.Files;
using Batchkeeper.Daemon.Snapshots;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Snapshots;

/// <summary>
/// Snapshots rewritten only when their content changed (issue 19), on real files: a steady pass leaves the file as it
/// is while the heartbeat (<c>dashboard.json</c>) goes on, and <c>status</c> and <c>dashboard</c> tell a quiet daemon
/// from a killed or stopped one by that heartbeat, not by the snapshot's age.
/// </summary>
public sealed class QuietSnapshotTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Projects => _folder.Combine("projects");

    /// <summary>The snapshot file as it is on disk: which file (inode), when written, and its bytes.</summary>
    private static ((ulong, ulong)? Inode, DateTime Written, byte[] Bytes) OnDisk(string workflow)
    {
        var path = FileSnapshotStore.PathFor(workflow);
        return (ProjectFile.Identity(path), File.GetLastWriteTimeUtc(path), File.ReadAllBytes(path));
    }

    private static async Task<Dashboard> DashboardAsync(string projects) =>
        (await Eventually.WaitAsync(() => Dashboard.ReadAsync(projects, CancellationToken.None), d => d is not null, "a dashboard"))!;

    [Fact]
    public async Task SteadyPasses_WriteNoSnapshotBytes_WhileTheHeartbeatGoesOn_AndAPassThatChangesASlotWritesIt()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        var project = Demo.CreateProject(daemon.Projects, "study", ("a", 2), ("b", 3));
        var workflow = daemon.WorkflowPath("study", "wordcount.json");
        Demo.Drop(workflow, Demo.Workflow);
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 4, "the workflow converges");
        await TestDaemon.WaitForAnotherPassAsync(workflow, "a pass of the converged workflow");
        var before = OnDisk(workflow);
        var heartbeat = (await DashboardAsync(daemon.Projects)).WrittenAt;

        // Three more passes (one every 2 s): none has anything new to say.
        await TestDaemon.WaitForPassAsync(workflow, DateTimeOffset.UtcNow + TimeSpan.FromSeconds(4.5), "three more passes");

        var steady = OnDisk(workflow);
        Assert.Equal(before.Inode, steady.Inode);
        Assert.Equal(before.Written, steady.Written);
        Assert.Equal(before.Bytes, steady.Bytes);
        var dashboard = await DashboardAsync(daemon.Projects);
        Assert.True(dashboard.WrittenAt > heartbeat, $"the heartbeat was last written at {dashboard.WrittenAt:O}, as at {heartbeat:O}");
        Assert.Equal(dashboard.WrittenAt + TimeSpan.FromSeconds(2), dashboard.NextWriteBy);
        Assert.Null(dashboard.StoppedAt);
        var row = Assert.Single(dashboard.Workflows);
        Assert.True(row.ReconciledAt > JsonDocument.Parse(steady.Bytes).RootElement.GetProperty("reconciled_at").GetDateTimeOffset(), "the row has the last pass, the file its last change");
        Assert.NotNull(row.PassSeconds);

        // One slot changes: an output is removed, its job runs again, and the new attempt is written.
        File.Delete(Path.Combine(project, "results", "a.count"));
        var changed = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Slots.Single(x => x.Sample == "a" && x.Analysis == "count").History.Count == 2, "the removed output's slot runs again");
        // Not the inode: the file system may give the new file the number the replaced one freed.
        Assert.NotEqual(before.Bytes, OnDisk(workflow).Bytes);
        Assert.Single(changed.Slots.Single(x => x.Sample == "b" && x.Analysis == "count").History);
    }

    [Fact]
    public async Task StatusAndDashboard_SayAQuietDaemonIsLive_AKilledOneIsStale_AndAStoppedOneStopped()
    {
        var project = Demo.CreateProject(Projects, "study", ("a", 2));
        var workflow = Path.Combine(project, "wordcount.json");
        Demo.Drop(workflow, Demo.Workflow);
        var environment = new Dictionary<string, string>
        {
            ["Batchkeeper__ProjectsDirectory"] = Projects,
            ["Batchkeeper__LogDirectory"] = _folder.Combine("logs"),
            ["Batchkeeper__Local__WorkDirectory"] = _folder.Combine("work"),
            ["Batchkeeper__ReconcileInterval"] = "00:00:01",
        };
        Task<(int Code, string Out, string Err)> Cli(params string[] args) => CliRun.RunAsync(_folder.Path, null, null, ["--projects", Projects, .. args]);

        await using (var first = DaemonProcess.Start(_folder.Path, environment, "run"))
        {
            await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "the workflow converges");
            first.Terminate();
            Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        var (code, output, _) = await Cli("status", workflow);
        Assert.Equal(0, code);
        Assert.StartsWith("daemon stopped at ", CliRun.Lines(output)[1], StringComparison.Ordinal);

        // The snapshot as a daemon that last changed it two hours ago left it: by the old rule, long stale.
        var snapshot = (await TestDaemon.ReadSnapshotAsync(workflow))!;
        snapshot.ReconciledAt = DateTimeOffset.UtcNow - TimeSpan.FromHours(2);
        snapshot.NextReconcileAt = snapshot.ReconciledAt + TimeSpan.FromSeconds(1);
        await FileSnapshotStore.SaveAsync(workflow, snapshot, CancellationToken.None);
        var written = OnDisk(workflow);

        await using var second = DaemonProcess.Start(_folder.Path, environment, "run");
        await TestDaemon.WaitForPassAsync(workflow, DateTimeOffset.UtcNow + TimeSpan.FromSeconds(2), "passes of the restarted daemon");

        // Quiet: nothing changed, so the file is as it was, and live: the heartbeat says so.
        Assert.Equal(written.Bytes, OnDisk(workflow).Bytes);
        (code, output, _) = await Cli("status", workflow);
        Assert.Equal(0, code);
        Assert.Matches(@"^study/wordcount\.json: workflow wordcount, Local backend, reconciled \ds ago \(its snapshot last changed 2h ago\)$", CliRun.Lines(output)[0]);
        Assert.DoesNotContain("stale", output, StringComparison.Ordinal);
        Assert.DoesNotContain("stopped", output, StringComparison.Ordinal);
        (code, output, _) = await Cli("dashboard");
        Assert.Equal(0, code);
        Assert.Matches(@"^study/wordcount\.json +2/2 +0 +0 +0 +0 +0 +0 +0 +\ds$", CliRun.Lines(output)[1]);

        // Killed: no heartbeat comes, and within a few seconds both commands say so.
        Signals.Kill(second.Id);
        await second.WaitForExitAsync(TimeSpan.FromSeconds(10));
        (code, output, _) = await Eventually.WaitAsync(() => Cli("dashboard"), r => r.Out.StartsWith("stale: ", StringComparison.Ordinal), "the dashboard says the daemon is not heard from", TimeSpan.FromSeconds(30));
        Assert.Equal(1, code);
        Assert.StartsWith("stale: the daemon has not been heard from since ", output, StringComparison.Ordinal);
        Assert.Matches(@"study/wordcount\.json +2/2 .*stale: is the daemon running\?$", CliRun.Lines(output)[2]);
        (_, output, _) = await Cli("status", workflow);
        Assert.StartsWith("stale: the daemon has not been heard from since ", CliRun.Lines(output)[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithNoWorkflowAtAll_TheHeartbeatIsWrittenEveryInterval_AndTheLastWriteSaysTheDaemonStopped()
    {
        var daemon = await TestDaemon.StartAsync(_folder.Path);
        DateTimeOffset beat;
        await using (daemon)
        {
            var first = await DashboardAsync(daemon.Projects);
            Assert.Empty(first.Workflows);
            var later = await Eventually.WaitAsync(() => Dashboard.ReadAsync(daemon.Projects, CancellationToken.None),
                d => d is not null && d.WrittenAt >= first.WrittenAt + TimeSpan.FromSeconds(2), "the heartbeat written again, with no pass to report");
            Assert.Equal(later!.WrittenAt + TimeSpan.FromSeconds(2), later.NextWriteBy);
            beat = later.WrittenAt;
        }

        var stopped = await DashboardAsync(daemon.Projects);
        Assert.True(stopped.StoppedAt >= beat, $"stopped_at {stopped.StoppedAt:O}");
        Assert.Equal(stopped.WrittenAt, stopped.StoppedAt);
        Assert.Null(stopped.NextWriteBy);
    }

    [Fact]
    public async Task AHungPass_StopsTheHeartbeat_SoTheDashboardSaysStale_AndItResumesWhenThePassEnds()
    {
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions { RunDuration = TimeSpan.FromMinutes(5) });
        // Only file outputs: S3 is never asked, so its address leads nowhere.
        await using var daemon = await TestDaemon.StartOnAwsAsync(_folder.Path, emulator.BaseAddress, "http://127.0.0.1:9",
            new Dictionary<string, string?> { ["Batchkeeper:PassStallAfter"] = "00:00:01" });
        var project = Demo.CreateProject(daemon.Projects, "study", ("a", 1));
        var workflow = Path.Combine(project, "hung.json");
        Demo.Drop(workflow, $$"""
            { "workflow_name": "hung", "analyses": [ { "name": "one", "job_definition": "d:1", "queue": "q", "command": ["one"],
              "outputs": ["file://{{_folder.Combine("out")}}/{sample_name}"] } ] }
            """);
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Slots.All(x => x.JobId is not null), "the job submitted");
        Task<(int Code, string Out, string Err)> Dashboard() => CliRun.RunAsync(_folder.Path, null, null, "--projects", daemon.Projects, "dashboard");

        // Every Batch call now hangs for 10 s: the pass runs past PassStallAfter, and the loop counts as hung.
        emulator.Faults.Update(f => f with { StallRate = 1.0, StallAfterProcessing = false, StallDuration = TimeSpan.FromSeconds(10), Operations = null });
        await Eventually.WaitAsync(() => emulator.RequestsInFlight > 0, "a Batch call hangs");
        var (code, output, _) = await Eventually.WaitAsync(Dashboard, r => r.Out.StartsWith("stale: ", StringComparison.Ordinal), "the dashboard says the daemon is not heard from", TimeSpan.FromSeconds(30));
        Assert.Equal(1, code);
        Assert.StartsWith("stale: the daemon has not been heard from since ", output, StringComparison.Ordinal);

        emulator.Faults.Update(f => f with { StallRate = 0 });
        await Eventually.WaitAsync(Dashboard, r => !r.Out.StartsWith("stale: ", StringComparison.Ordinal), "the heartbeat again once the pass ends", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task AStopWithALocalJobRunning_EndsWithAHeartbeatThatSaysStopped_AfterTheJobsLastPass()
    {
        var daemon = await TestDaemon.StartAsync(_folder.Path);
        var workflow = Path.Combine(Demo.CreateProject(daemon.Projects, "study", ("a", 1)), "slow.json");
        await using (daemon)
        {
            Demo.Drop(workflow, """{ "workflow_name": "slow", "analyses": [ { "job_definition": "x:1", "queue": "local", "command": ["sleep", "600"], "outputs": ["out-{sample_name}"] } ] }""");
            await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Running == 1, "the job runs");
        }

        // The local backend stops the job, and one more pass after every other service (the dashboard's too) says so.
        var stopped = await DashboardAsync(daemon.Projects);
        Assert.Equal(stopped.WrittenAt, stopped.StoppedAt);
        Assert.Null(stopped.NextWriteBy);
        Assert.Equal(1, Assert.Single(stopped.Workflows).Summary.Retrying);
    }
}

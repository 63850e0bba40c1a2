using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Hosting;

/// <summary>
/// What the real executable leaves when it is asked to stop (issue 16, item 18): lines that say it is stopping and then
/// that it stopped, so a person tailing the log can tell stopped from hung, and no PID file of a process that is gone.
/// </summary>
public sealed class DaemonStopTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData("SIGTERM")]
    [InlineData("Ctrl-C")]
    public async Task AStop_IsLoggedAsStoppingThenStopped_AndThePidFileGoesWithTheDaemon(string how)
    {
        var projects = _folder.Combine("projects");
        var logs = _folder.Combine("logs");
        Demo.CreateProject(projects, "study", ("a", 1));
        var workflow = Path.Combine(projects, "study", "wordcount.json");
        Demo.Drop(workflow, Demo.Workflow);
        var environment = new Dictionary<string, string>
        {
            ["Batchkeeper__ProjectsDirectory"] = projects,
            ["Batchkeeper__LogDirectory"] = logs,
            ["Batchkeeper__Local__WorkDirectory"] = _folder.Combine("work"),
        };
        var pidFile = Path.Combine(projects, ProjectsLock.PidFileName);

        await using var daemon = DaemonProcess.Start(_folder.Path, environment, ownSession: how == "Ctrl-C", "run");
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "the workflow converges");
        Assert.Equal(daemon.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), File.ReadAllText(pidFile).Trim());

        if (how == "Ctrl-C")
        {
            Signals.InterruptGroup(daemon.Id);
        }
        else
        {
            daemon.Terminate();
        }

        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(45)));
        var lines = LogFiles.Read(logs).Split('\n');
        var stopping = Array.FindIndex(lines, l => l.Contains("[INF] Stopping: the passes in flight submit nothing more", StringComparison.Ordinal));
        var stopped = Array.FindIndex(lines, l => l.Contains("[INF] Batchkeeper stopped after ", StringComparison.Ordinal));
        Assert.True(stopping >= 0 && stopped > stopping, string.Join("\n", lines.TakeLast(10)));
        Assert.True(string.IsNullOrWhiteSpace(string.Concat(lines.Skip(stopped + 1))), "the stopped line is the last");
        Assert.False(File.Exists(pidFile), "the PID file of the stopped daemon is removed");
        Assert.True(File.Exists(Path.Combine(projects, ProjectsLock.LockFileName)), "the lock file stays: removing a flock's file would let two daemons lock two files");
    }
}

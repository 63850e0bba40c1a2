using System.Diagnostics;
using System.Globalization;
using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Watching;

/// <summary>SIGHUP (systemctl reload) against the real executable.</summary>
public sealed class ReloadSignalTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Sighup_ReconcilesEveryWorkflowNow_AndTheDaemonKeepsRunning()
    {
        var projects = _folder.Combine("projects");
        var first = Path.Combine(Demo.CreateProject(projects, "one", ("a", 2)), "wordcount.json");
        var second = Path.Combine(Demo.CreateProject(projects, "two", ("b", 3)), "wordcount.json");
        Demo.Drop(first, Demo.Workflow);
        Demo.Drop(second, Demo.Workflow);
        var environment = new Dictionary<string, string>
        {
            ["Batchkeeper__ProjectsDirectory"] = projects,
            ["Batchkeeper__LogDirectory"] = _folder.Combine("logs"),
            ["Batchkeeper__Local__WorkDirectory"] = _folder.Combine("work"),
            // Nothing but the signal would reconcile again within the test.
            ["Batchkeeper__ReconcileInterval"] = "01:00:00",
        };
        await using var daemon = DaemonProcess.Start(_folder.Path, environment, "run");
        var before = new List<DateTimeOffset>();
        foreach (var workflow in new[] { first, second })
        {
            before.Add((await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "convergence")).ReconciledAt);
        }

        using (var kill = Process.Start("kill", ["-HUP", daemon.Id.ToString(CultureInfo.InvariantCulture)])!)
        {
            await kill.WaitForExitAsync();
            Assert.Equal(0, kill.ExitCode);
        }

        await TestDaemon.WaitForSnapshotAsync(first, s => s.ReconciledAt > before[0], "a pass of the first workflow after SIGHUP");
        await TestDaemon.WaitForSnapshotAsync(second, s => s.ReconciledAt > before[1], "a pass of the second workflow after SIGHUP");
        Assert.False(daemon.HasExited);
        Assert.Contains("SIGHUP: rescanning the projects folder and reconciling every workflow now.", LogFiles.Read(_folder.Combine("logs")), StringComparison.Ordinal);

        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(45)));
    }
}

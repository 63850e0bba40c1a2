using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Watching;

/// <summary>SIGHUP (systemctl reload) against the real executable.</summary>
public sealed partial class ReloadSignalTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Sighup_ReconcilesEveryWorkflowExactlyOnce_EvenOneThatChangedUnseen_AndTheDaemonKeepsRunning()
    {
        var projects = _folder.Combine("projects");
        var first = Path.Combine(Demo.CreateProject(projects, "one", ("a", 2)), "wordcount.json");
        var second = Path.Combine(Demo.CreateProject(projects, "two", ("b", 3)), "wordcount.json");
        foreach (var workflow in new[] { first, second })
        {
            Demo.Drop(workflow, Demo.Workflow);
            // The outputs exist: no job runs, so no job's end triggers a pass while the test counts them.
            var results = Directory.CreateDirectory(Path.Combine(Path.GetDirectoryName(workflow)!, "results")).FullName;
            foreach (var name in new[] { "a.count", "a.report.txt", "b.count", "b.report.txt" })
            {
                File.WriteAllText(Path.Combine(results, name), "done\n");
            }
        }

        var environment = new Dictionary<string, string>
        {
            ["Batchkeeper__ProjectsDirectory"] = projects,
            ["Batchkeeper__LogDirectory"] = _folder.Combine("logs"),
            ["Batchkeeper__Local__WorkDirectory"] = _folder.Combine("work"),
            // Nothing but the signals triggers a pass within the test: no schedule, no rescan, and a change the
            // watcher sees waits a minute, the most the options allow (so a change is "unseen" by the time the signal's
            // rescan finds it; were it to fire, its pass would be triggered after the second signal, outside the count).
            ["Batchkeeper__ReconcileInterval"] = "01:00:00",
            ["Batchkeeper__RescanInterval"] = "01:00:00",
            ["Batchkeeper__Debounce"] = "00:01:00",
            // One line per pass, naming the trigger's time (ReconcileJob).
            ["Serilog__MinimumLevel__Default"] = "Debug",
        };
        await using var daemon = DaemonProcess.Start(_folder.Path, environment, "run");
        foreach (var workflow in new[] { first, second })
        {
            await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "convergence");
        }

        // The first workflow changes where the watcher does not act on it: the signal's rescan finds the change.
        File.SetLastWriteTimeUtc(first, File.GetLastWriteTimeUtc(first) + TimeSpan.FromSeconds(5));
        var firstSignal = DateTimeOffset.UtcNow;
        await SighupAsync(daemon);
        await Eventually.WaitAsync(() => Passes("one", firstSignal).Count > 0 && Passes("two", firstSignal).Count > 0, "a pass of each workflow after SIGHUP");

        // A second signal is the barrier: one workflow's passes run one at a time in the order they were triggered, so
        // once a pass triggered by this signal has ended, every pass the first signal triggered has ended too.
        var secondSignal = DateTimeOffset.UtcNow;
        await SighupAsync(daemon);
        await Eventually.WaitAsync(() => Passes("one", secondSignal).Count > 0 && Passes("two", secondSignal).Count > 0, "a pass of each workflow after the second SIGHUP");

        Assert.Single(Passes("one", firstSignal, until: secondSignal));
        Assert.Single(Passes("two", firstSignal, until: secondSignal));
        Assert.False(daemon.HasExited);
        Assert.Contains("SIGHUP: rescanning the projects folder and reconciling every workflow now.", LogFiles.Read(_folder.Combine("logs")), StringComparison.Ordinal);

        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(45)));
    }

    private static async Task SighupAsync(DaemonProcess daemon)
    {
        using var kill = Process.Start("kill", ["-HUP", daemon.Id.ToString(CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>The passes of <paramref name="project"/>'s workflow that ended, triggered at or after <paramref name="since"/> (and before <paramref name="until"/>).</summary>
    private List<DateTimeOffset> Passes(string project, DateTimeOffset since, DateTimeOffset? until = null) =>
        PassEnded().Matches(LogFiles.Read(_folder.Combine("logs")))
            .Where(m => m.Groups["project"].Value == project)
            .Select(m => DateTimeOffset.Parse(m.Groups["at"].Value, CultureInfo.InvariantCulture))
            .Where(at => at >= since && (until is null || at < until))
            .ToList();

    [GeneratedRegex(@"Pass of (?<project>[^/]+)/wordcount\.json triggered for (?<at>\S+) ended: ""?Done""?\.")]
    private static partial Regex PassEnded();
}

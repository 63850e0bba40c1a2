using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Watching;

/// <summary>The projects root deleted and made again: a warning while it is missing, and the watcher armed again on the new folder.</summary>
public sealed class ProjectsRootRecreatedTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task TheRootDeletedAndMadeAgain_IsWarnedAbout_AndANewProjectIsFoundByTheWatcher_NotByTheRescan()
    {
        // A rescan every 10 minutes: within the test, only the watcher can find the new project.
        await using var daemon = await TestDaemon.StartAsync(_folder.Path, new Dictionary<string, string?> { ["Batchkeeper:RescanInterval"] = "00:10:00" });
        // As `rm -rf` does: the dashboard's temp file written meanwhile fails one removal, and the next one takes it.
        await Eventually.WaitAsync(() => Tree.TryRemove(daemon.Projects), "the projects folder is removed");
        await Eventually.WaitAsync(() => LogFiles.Read(daemon.LogDirectory).Contains($"The projects folder {daemon.Projects} is missing", StringComparison.Ordinal),
            "a warning that the root is missing", TimeSpan.FromSeconds(30));

        Directory.CreateDirectory(daemon.Projects);
        await Eventually.WaitAsync(() => LogFiles.Read(daemon.LogDirectory).Contains($"The projects folder {daemon.Projects} is back", StringComparison.Ordinal),
            "the watcher is armed again", TimeSpan.FromSeconds(30));

        Demo.CreateProject(daemon.Projects, "later", ("a", 1));
        var workflow = daemon.WorkflowPath("later", "wordcount.json");
        Demo.Drop(workflow, Demo.Workflow);
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "a project made in the new root is found and converges", TimeSpan.FromSeconds(60));
    }
}

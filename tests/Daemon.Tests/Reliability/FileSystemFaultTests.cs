using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Reliability;

public sealed class FileSystemFaultTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task ProjectFolderDeletedWhileManaged_IsReleased_AndTheDaemonCarriesOn()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        var doomed = Demo.CreateProject(daemon.Projects, "doomed", ("a", 2));
        Demo.CreateProject(daemon.Projects, "kept", ("b", 3));
        Demo.Drop(Path.Combine(doomed, "wordcount.json"), Demo.Workflow);
        var kept = daemon.WorkflowPath("kept", "wordcount.json");
        Demo.Drop(kept, Demo.Workflow);
        await TestDaemon.WaitForSnapshotAsync(Path.Combine(doomed, "wordcount.json"), s => s.Summary.Complete == 2, "the doomed project converges");
        await TestDaemon.WaitForSnapshotAsync(kept, s => s.Summary.Complete == 2, "the kept project converges");

        Directory.Delete(doomed, recursive: true);

        var dashboard = Path.Combine(daemon.Projects, "dashboard.json");
        await Eventually.WaitAsync(() => !File.ReadAllText(dashboard).Contains("doomed/", StringComparison.Ordinal), "the dashboard drops the deleted project");
        Assert.False(Directory.Exists(doomed), "the daemon must not recreate a deleted project folder");

        // A change to the other project is still acted on.
        Demo.AddSample(Path.Combine(daemon.Projects, "kept"), "c", 4);
        await TestDaemon.WaitForSnapshotAsync(kept, s => s.Summary.Complete == 4, "the kept project keeps converging");
        await Eventually.WaitAsync(() => LogFiles.Read(daemon.LogDirectory).Contains("Workflow doomed/wordcount.json was removed", StringComparison.Ordinal), "the release is logged");
    }
}

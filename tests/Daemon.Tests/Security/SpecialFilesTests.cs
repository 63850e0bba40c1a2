using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Security;

/// <summary>
/// Devices, FIFOs and links out of the projects root, where the daemon expects workflow and metadata files: each is
/// refused with a message that names the file, the daemon reads nothing endless, blocks on nothing, and other
/// workflows carry on.
/// </summary>
public sealed class SpecialFilesTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task MetadataThatIsDevZero_ThroughALinkOrAsADeviceNode_IsRefused_WithoutReadingItIntoMemory()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        var linked = Path.Combine(daemon.Projects, "linked");
        Directory.CreateDirectory(linked);
        File.CreateSymbolicLink(Path.Combine(linked, "metadata.csv"), "/dev/zero");
        var device = Path.Combine(daemon.Projects, "device");
        Directory.CreateDirectory(device);
        FileKinds.ZeroDevice(Path.Combine(device, "metadata.csv"));
        var before = GC.GetTotalMemory(forceFullCollection: false);
        Demo.Drop(Path.Combine(linked, "w.json"), Demo.Workflow);
        Demo.Drop(Path.Combine(device, "w.json"), Demo.Workflow);

        await TestDaemon.WaitForSnapshotAsync(Path.Combine(linked, "w.json"),
            s => Said(s, "metadata.csv: is a link to a file outside the projects folder"), "the link to /dev/zero is refused", TimeSpan.FromSeconds(30));
        await TestDaemon.WaitForSnapshotAsync(Path.Combine(device, "w.json"),
            s => Said(s, "metadata.csv: is a character device, not a regular file"), "the device node is refused", TimeSpan.FromSeconds(30));

        // Several passes later, nothing has been piling up: /dev/zero read into memory is gigabytes in seconds.
        await TestDaemon.WaitForPassAsync(Path.Combine(device, "w.json"), DateTimeOffset.UtcNow.AddSeconds(-1), "a later pass");
        var grown = GC.GetTotalMemory(forceFullCollection: true) - before;
        Assert.True(grown < 256L * 1024 * 1024, $"the managed heap grew by {grown / (1024 * 1024)} MiB");
    }

    [Fact]
    public async Task SixteenFifos_AsWorkflowsAndMetadata_BlockNoPass_AGoodWorkflowAddedAfterConverges_AndTheDaemonStops()
    {
        var daemon = await TestDaemon.StartAsync(_folder.Path);
        var pipes = Path.Combine(daemon.Projects, "pipes");
        Directory.CreateDirectory(pipes);
        for (var i = 0; i < 16; i++)
        {
            FileKinds.Fifo(Path.Combine(pipes, $"w{i}.json"));
        }

        var pipedMetadata = Path.Combine(daemon.Projects, "piped-metadata");
        Directory.CreateDirectory(pipedMetadata);
        FileKinds.Fifo(Path.Combine(pipedMetadata, "metadata.csv"));
        Demo.Drop(Path.Combine(pipedMetadata, "w.json"), Demo.Workflow);

        await TestDaemon.WaitForSnapshotAsync(Path.Combine(pipes, "w15.json"),
            s => Said(s, "w15.json: is a FIFO (named pipe), not a regular file"), "a FIFO workflow is refused", TimeSpan.FromSeconds(30));
        await TestDaemon.WaitForSnapshotAsync(Path.Combine(pipedMetadata, "w.json"),
            s => Said(s, "metadata.csv: is a FIFO (named pipe), not a regular file"), "a FIFO metadata file is refused", TimeSpan.FromSeconds(30));

        Demo.CreateProject(daemon.Projects, "good", ("g1", 2));
        var good = daemon.WorkflowPath("good", "wordcount.json");
        Demo.Drop(good, Demo.Workflow);
        await TestDaemon.WaitForSnapshotAsync(good, s => s.Summary.Complete == 2, "a good workflow added after the FIFOs converges", TimeSpan.FromSeconds(30));

        // No pass is stuck in an open() of a FIFO: the host stops well within its shutdown timeout.
        var stop = daemon.DisposeAsync().AsTask();
        Assert.True(await Task.WhenAny(stop, Task.Delay(TimeSpan.FromSeconds(20))) == stop, "the daemon did not stop within 20 s");
        await stop;
    }

    [Fact]
    public async Task AProjectReachedTwiceThroughALinkInsideTheRoot_IsManagedOnce_UnderItsRealPath()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        Demo.CreateProject(daemon.Projects, "real", ("a", 1), ("b", 2));
        Directory.CreateSymbolicLink(Path.Combine(daemon.Projects, "alias"), Path.Combine(daemon.Projects, "real"));
        // A second name for the workflow file itself, in the same folder.
        Demo.Drop(daemon.WorkflowPath("real", "wordcount.json"), Demo.Workflow);
        File.CreateSymbolicLink(daemon.WorkflowPath("real", "again.json"), "wordcount.json");

        var done = await TestDaemon.WaitForSnapshotAsync(daemon.WorkflowPath("real", "wordcount.json"), s => s.Summary.Complete == 4, "the workflow converges");
        Assert.Equal("real", done.Project);

        // Every slot ran once: one job record per slot, however many names lead to the workflow.
        var records = Directory.GetFiles(Path.Combine(daemon.WorkDirectory, "jobs"), "*.json");
        Assert.Equal(4, records.Length);
        Assert.False(File.Exists(daemon.WorkflowPath("real", "again.status.json")), "the second name of the file got a snapshot of its own");
        var log = LogFiles.Read(daemon.LogDirectory);
        Assert.Contains("Managing workflow real/wordcount.json", log, StringComparison.Ordinal);
        Assert.DoesNotContain("Managing workflow alias/", log, StringComparison.Ordinal);
        Assert.DoesNotContain("Managing workflow real/again.json", log, StringComparison.Ordinal);
    }

    internal static bool Said(WorkflowSnapshot snapshot, string expected) =>
        snapshot.Errors.Any(e => e.Message.Contains(expected, StringComparison.Ordinal));
}

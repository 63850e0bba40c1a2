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

    [Fact]
    public async Task DiskFullWhileWritingASnapshot_LeavesThePreviousSnapshotIntact_AndRecovers()
    {
        // A real full disk: a 2 MiB tmpfs holds the projects folder (the test runs as root, as CI does).
        var projects = _folder.Combine("projects");
        Directory.CreateDirectory(projects);
        using var mount = Mount.Tmpfs(projects, "2m");
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        Demo.CreateProject(daemon.Projects, "study", ("a", 2));
        var workflow = daemon.WorkflowPath("study", "wordcount.json");
        Demo.Drop(workflow, Demo.Workflow);
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "the workflow converges");
        var snapshotPath = Path.ChangeExtension(workflow, null) + ".status.json";
        var before = await File.ReadAllTextAsync(snapshotPath);

        var filler = Path.Combine(projects, "filler.bin");
        await using (var fill = new FileStream(filler, FileMode.Create))
        {
            var block = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    fill.Write(block);
                    fill.Flush(flushToDisk: true);
                }
            }
            catch (IOException)
            {
                // The disk is full.
            }
        }

        File.SetLastWriteTimeUtc(workflow, DateTime.UtcNow); // a change: a pass runs and tries to write
        await Eventually.WaitAsync(() => LogFiles.Read(daemon.LogDirectory).Contains("Writing the snapshot of study/wordcount.json failed; the previous snapshot is intact", StringComparison.Ordinal),
            "the failed write is logged");
        Assert.Equal(before, await File.ReadAllTextAsync(snapshotPath));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(workflow)!, "*.tmp"));

        File.Delete(filler);
        var previous = System.Text.Json.JsonDocument.Parse(before).RootElement.GetProperty("reconciled_at").GetDateTimeOffset();
        var after = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.ReconciledAt > previous, "snapshots are written again once there is room");
        Assert.Equal(2, after.Summary.Complete);
    }

    /// <summary>A tmpfs mounted for one test, unmounted (lazily) when disposed.</summary>
    private sealed class Mount(string path) : IDisposable
    {
        public static Mount Tmpfs(string path, string size)
        {
            var (code, output) = Run("mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", path);
            Assert.True(code == 0, $"mounting a tmpfs needs root (CI runs as root): {output}");
            return new Mount(path);
        }

        public void Dispose() => Run("umount", "-l", path);

        private static (int, string) Run(string file, params string[] args)
        {
            var start = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            using var process = System.Diagnostics.Process.Start(start)!;
            var text = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, text);
        }
    }
}

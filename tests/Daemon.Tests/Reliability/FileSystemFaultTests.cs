using Batchkeeper.Daemon.Snapshots;
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

        var dashboard = Path.Combine(daemon.Projects, "dashboard.json");
        await Eventually.WaitAsync(() => File.Exists(dashboard) && File.ReadAllText(dashboard).Contains("doomed/", StringComparison.Ordinal), "the dashboard lists the doomed project before it is deleted");

        // As `rm -rf` does: a file the daemon writes meanwhile (a snapshot's temp file) makes one removal fail with
        // "Directory not empty", and the next one takes it.
        await Eventually.WaitAsync(() => Tree.TryRemove(doomed), "the doomed project folder is removed");

        await Eventually.WaitAsync(() => !File.ReadAllText(dashboard).Contains("doomed/", StringComparison.Ordinal), "the dashboard drops the deleted project");
        await Eventually.WaitAsync(() => LogFiles.Read(daemon.LogDirectory).Contains("Workflow doomed/wordcount.json was removed", StringComparison.Ordinal), "the release is logged");

        // A change to the other project is still acted on; the passes it takes never bring the deleted folder back.
        Demo.AddSample(Path.Combine(daemon.Projects, "kept"), "c", 4);
        await TestDaemon.WaitForSnapshotAsync(kept, s => s.Summary.Complete == 4, "the kept project keeps converging");
        Assert.False(Directory.Exists(doomed), "the daemon must not recreate a deleted project folder");
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

        // A change of content (the definition's hash), in the file's own page of the full disk: a pass runs and tries to
        // write. (A pass that changes nothing writes no snapshot at all.)
        File.AppendAllText(workflow, "\n");
        await Eventually.WaitAsync(() => LogFiles.HasLine(LogFiles.Read(daemon.LogDirectory), "Writing the snapshot failed; the previous snapshot is intact", "[study/wordcount.json]"),
            "the failed write is logged");
        Assert.Equal(before, await File.ReadAllTextAsync(snapshotPath));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(workflow)!, "*.tmp"));

        File.Delete(filler);
        var previous = System.Text.Json.JsonDocument.Parse(before).RootElement.GetProperty("reconciled_at").GetDateTimeOffset();
        var after = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.ReconciledAt > previous, "snapshots are written again once there is room");
        Assert.NotEqual(System.Text.Json.JsonDocument.Parse(before).RootElement.GetProperty("definition_sha256").GetString(), after.DefinitionSha256);
        Assert.Equal(2, after.Summary.Complete);
    }

    [Fact]
    public async Task ProjectsFolderReadOnly_TheDaemonCarriesOn_LogsIt_KeepsThePreviousSnapshot_AndResumesWhenWritable()
    {
        // Root ignores permissions, so the read-only folder is a read-only bind mount: the daemon sees projects/ through
        // it, while the test still changes the files underneath through real/ (as another host or an admin would).
        var real = _folder.Combine("real");
        var projects = _folder.Combine("projects");
        Directory.CreateDirectory(real);
        Directory.CreateDirectory(projects);
        using var mount = Mount.Bind(real, projects);
        var outputs = _folder.Combine("outputs"); // outside the projects folder: jobs can still write their outputs
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        var project = Demo.CreateProject(projects, "study", ("s1", 1));
        var workflow = Path.Combine(project, "ro.json");
        Demo.Drop(workflow, $$"""
            { "workflow_name": "ro", "analyses": [
              { "name": "copy", "job_definition": "copy:1", "queue": "local",
                "command": ["sh", "-c", "mkdir -p {{outputs}} && echo {sample_name} > {{outputs}}/{sample_name}.txt"],
                "outputs": ["file://{{outputs}}/{sample_name}.txt"] } ] }
            """);
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 1, "the workflow converges");
        var snapshotPath = FileSnapshotStore.PathFor(workflow);
        var dashboardPath = Path.Combine(projects, "dashboard.json");
        await Eventually.WaitAsync(() => File.Exists(dashboardPath) && File.ReadAllText(dashboardPath).Contains("study/ro.json", StringComparison.Ordinal), "the dashboard row");

        mount.ReadOnly();
        var before = await File.ReadAllBytesAsync(snapshotPath);
        var dashboardBefore = await File.ReadAllBytesAsync(dashboardPath);
        Demo.AddSample(Path.Combine(real, "study"), "s2", 2); // a new sample, written underneath the read-only view

        await Eventually.WaitAsync(() => LogFiles.HasLine(LogFiles.Read(daemon.LogDirectory), "Writing the snapshot failed; the previous snapshot is intact: Read-only file system", "[study/ro.json]"),
            "the failed snapshot write is logged");
        // The daemon keeps working while it cannot write: the new sample's job runs and its output appears.
        await Eventually.WaitAsync(() => File.Exists(Path.Combine(outputs, "s2.txt")), "the new sample's job ran");
        await Eventually.WaitAsync(() => LogFiles.Read(daemon.LogDirectory).Contains($"Writing the dashboard {dashboardPath} failed", StringComparison.Ordinal), "the failed dashboard write is logged");
        Assert.Equal(before, await File.ReadAllBytesAsync(snapshotPath));
        Assert.Equal(dashboardBefore, await File.ReadAllBytesAsync(dashboardPath));

        mount.ReadWrite();
        var previous = System.Text.Json.JsonDocument.Parse(before).RootElement.GetProperty("reconciled_at").GetDateTimeOffset();
        var after = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.ReconciledAt > previous && s.Summary.Complete == 2, "snapshots are written again, with the new sample complete");
        Assert.All(after.Slots, slot => Assert.Single(slot.History)); // nothing was submitted twice while the snapshot could not be written
        await Eventually.WaitAsync(() => File.ReadAllText(dashboardPath).Contains("\"complete\": 2", StringComparison.Ordinal), "the dashboard is written again");
        await Eventually.WaitAsync(() => LogFiles.HasLine(LogFiles.Read(daemon.LogDirectory), "The snapshot is written again.", "[study/ro.json]"), "the recovery is logged");
        // Said once while it lasted, not once a pass.
        Assert.Equal(1, LogFiles.CountLines(LogFiles.Read(daemon.LogDirectory), "Writing the snapshot failed", "[study/ro.json]"));
    }

    /// <summary>A tmpfs or bind mount for one test, unmounted (lazily) when disposed.</summary>
    private sealed class Mount(string path) : IDisposable
    {
        public static Mount Tmpfs(string path, string size)
        {
            var (code, output) = Run("mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", path);
            Assert.True(code == 0, $"mounting a tmpfs needs root (CI runs as root): {output}");
            return new Mount(path);
        }

        /// <summary><paramref name="source"/> seen at <paramref name="path"/> too, writable until <see cref="ReadOnly"/>.</summary>
        public static Mount Bind(string source, string path)
        {
            var (code, output) = Run("mount", "--bind", source, path);
            Assert.True(code == 0, $"a bind mount needs root (CI runs as root): {output}");
            return new Mount(path);
        }

        public void ReadOnly()
        {
            var (code, output) = Run("mount", "-o", "remount,bind,ro", path);
            Assert.True(code == 0, $"remounting read-only failed: {output}");
        }

        public void ReadWrite()
        {
            var (code, output) = Run("mount", "-o", "remount,bind,rw", path);
            Assert.True(code == 0, $"remounting read-write failed: {output}");
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

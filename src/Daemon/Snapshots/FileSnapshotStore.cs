using System.Collections.Concurrent;
using System.Text.Json;
using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Snapshots;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Batchkeeper.Daemon.Snapshots;

/// <summary>Reads and writes <c>&lt;name&gt;.status.json</c> beside each workflow file <c>&lt;name&gt;.json</c>.</summary>
public sealed class FileSnapshotStore(ILogger<FileSnapshotStore>? logger = null, Metrics.DaemonMetrics? metrics = null) : ISnapshotStore
{
    public const string Suffix = ".status.json";

    private readonly ILogger _logger = logger ?? NullLogger<FileSnapshotStore>.Instance;

    /// <summary>The workflows whose first load by this process is done (and their interrupted writes cleaned up).</summary>
    private readonly ConcurrentDictionary<string, bool> _loaded = new(StringComparer.Ordinal);

    /// <summary>Per snapshot file: its inode, length and modification time when this store last read or wrote it.</summary>
    private readonly ConcurrentDictionary<string, FileStamp> _stamps = new(StringComparer.Ordinal);

    private readonly record struct FileStamp((ulong Device, ulong Inode) Identity, long Length, DateTime Modified);

    /// <summary>The workflow file a location names.</summary>
    public static string WorkflowPath(WorkflowLocation workflow) => Path.Combine(workflow.ProjectDirectory, workflow.FileName);

    public async Task<WorkflowSnapshot?> LoadAsync(WorkflowLocation workflow, CancellationToken cancellationToken)
    {
        var path = WorkflowPath(workflow);
        // Stamped before the read: a write by someone else during it leaves the stamp behind, so the next pass writes.
        Stamp(PathFor(path));
        var snapshot = await LoadAsync(path, cancellationToken);

        // Nothing of this process has written this snapshot yet: any temp file of it is from a write that was killed.
        if (_loaded.TryAdd(path, true) && AtomicFile.DeleteLeftovers(PathFor(path)) is > 0 and var leftovers)
        {
            Log.InterruptedWritesCleanedUp(_logger, workflow.Project, workflow.FileName, leftovers);
        }

        return snapshot;
    }

    public async Task SaveAsync(WorkflowLocation workflow, WorkflowSnapshot snapshot, CancellationToken cancellationToken)
    {
        var path = WorkflowPath(workflow);
        _stamps.TryRemove(PathFor(path), out _);
        try
        {
            await SaveAsync(path, snapshot, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            metrics?.SnapshotWriteFailed(Metrics.SnapshotFile.Status); // the pass says why, once per cause
            throw;
        }

        Stamp(PathFor(path));
    }

    /// <summary>
    /// A stat: the file is the one (inode, length, modification time) this store last read or wrote. Every atomic write
    /// replaces the file by another, so a copy written by anyone else is told apart, and a removed file has no stamp.
    /// </summary>
    public bool HoldsLast(WorkflowLocation workflow)
    {
        var path = PathFor(WorkflowPath(workflow));
        return _stamps.TryGetValue(path, out var stamp) && StampOf(path) is { } now && now == stamp;
    }

    private void Stamp(string snapshotPath)
    {
        if (StampOf(snapshotPath) is { } stamp)
        {
            _stamps[snapshotPath] = stamp;
        }
        else
        {
            _stamps.TryRemove(snapshotPath, out _);
        }
    }

    private static FileStamp? StampOf(string snapshotPath)
    {
        var file = new FileInfo(snapshotPath);
        return Files.ProjectFile.Identity(snapshotPath) is { } identity && file.Exists
            ? new FileStamp(identity, file.Length, file.LastWriteTimeUtc)
            : null;
    }

    /// <summary><c>projects/demo/wordcount.json</c> gives <c>projects/demo/wordcount.status.json</c>.</summary>
    public static string PathFor(string workflowPath) =>
        Path.Combine(Path.GetDirectoryName(workflowPath)!, Path.GetFileNameWithoutExtension(workflowPath) + Suffix);

    /// <summary>
    /// The snapshot beside a workflow file, or null if there is none or it cannot be read (it is then rebuilt). For
    /// readers of the file layout (the CLI, tests); the daemon goes through the port.
    /// </summary>
    public static async Task<WorkflowSnapshot?> LoadAsync(string workflowPath, CancellationToken cancellationToken)
    {
        var path = PathFor(workflowPath);
        try
        {
            // The daemon's one rule for reading files: a snapshot that is a link out of the projects root, a FIFO
            // or a device is not read (it is rebuilt, and the next write replaces it with a real file).
            var projectsRoot = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(path)))!;
            await using var stream = Files.ProjectFile.OpenRead(path, projectsRoot, Path.GetFileName(path));
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(ReadDeadline);
            var snapshot = await JsonSerializer.DeserializeAsync<WorkflowSnapshot>(stream, SnapshotJson.Options, deadline.Token);
            return snapshot?.Schema == WorkflowSnapshot.SchemaName ? snapshot : null;
        }
        catch (Exception e) when (e is JsonException or IOException or NotSupportedException or UnauthorizedAccessException or Core.Workflows.InputException)
        {
            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>How long reading a snapshot may take (a few seconds for millions of slots) before it is given up and rebuilt.</summary>
    public static readonly TimeSpan ReadDeadline = TimeSpan.FromMinutes(1);

    /// <summary>Writes the snapshot beside a workflow file, atomically (see <see cref="AtomicFile"/>).</summary>
    public static async Task SaveAsync(string workflowPath, WorkflowSnapshot snapshot, CancellationToken cancellationToken)
    {
        // Straight to the temp file: a snapshot of thousands of slots is megabytes, which as one buffer per pass
        // would land on the large-object heap and stay there until a full collection.
        await AtomicFile.WriteAsync(
            PathFor(workflowPath), (stream, ct) => JsonSerializer.SerializeAsync(stream, snapshot, SnapshotJson.Options, ct), cancellationToken);
    }
}

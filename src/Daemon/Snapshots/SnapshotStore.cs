using System.Text.Json;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Daemon.Snapshots;

/// <summary>Reads and writes <c>&lt;name&gt;.status.json</c> beside each workflow file <c>&lt;name&gt;.json</c>.</summary>
public sealed class SnapshotStore
{
    public const string Suffix = ".status.json";

    /// <summary><c>projects/demo/wordcount.json</c> gives <c>projects/demo/wordcount.status.json</c>.</summary>
    public static string PathFor(string workflowPath) =>
        Path.Combine(Path.GetDirectoryName(workflowPath)!, Path.GetFileNameWithoutExtension(workflowPath) + Suffix);

    /// <summary>The previous snapshot, or null if there is none or it cannot be read (it is then rebuilt).</summary>
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

    public static async Task SaveAsync(string workflowPath, WorkflowSnapshot snapshot, CancellationToken cancellationToken)
    {
        // Straight to the temp file: a snapshot of thousands of slots is megabytes, which as one buffer per pass
        // would land on the large-object heap and stay there until a full collection.
        await AtomicFile.WriteAsync(
            PathFor(workflowPath), (stream, ct) => JsonSerializer.SerializeAsync(stream, snapshot, SnapshotJson.Options, ct), cancellationToken);
    }
}

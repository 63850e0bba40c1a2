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
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            await using var stream = File.OpenRead(path);
            var snapshot = await JsonSerializer.DeserializeAsync<WorkflowSnapshot>(stream, SnapshotJson.Options, cancellationToken);
            return snapshot?.Schema == WorkflowSnapshot.SchemaName ? snapshot : null;
        }
        catch (Exception e) when (e is JsonException or IOException or NotSupportedException)
        {
            return null;
        }
    }

    public static async Task SaveAsync(string workflowPath, WorkflowSnapshot snapshot, CancellationToken cancellationToken)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(snapshot, SnapshotJson.Options);
        await AtomicFile.WriteAsync(PathFor(workflowPath), bytes, cancellationToken);
    }
}

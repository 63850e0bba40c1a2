using System.Collections.Concurrent;
using System.Text.Json;
using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Daemon.Snapshots;

/// <summary>
/// The submission journal as a hidden file beside the workflow, <c>.&lt;name&gt;.submitting.json</c>: written
/// atomically (and flushed to disk) before a pass submits, deleted once the snapshot recording its submissions is
/// saved. A file left behind is what a crash between SubmitJob and the snapshot looks like. The projects watcher
/// ignores it (hidden).
/// </summary>
public sealed class FileSubmissionJournal : ISubmissionJournal
{
    /// <summary>What is on disk per journal file, once looked at: the announced names (empty: no file).</summary>
    private readonly ConcurrentDictionary<string, HashSet<string>?> _pending = new(StringComparer.Ordinal);

    public static string PathFor(WorkflowLocation workflow)
    {
        ArgumentNullException.ThrowIfNull(workflow);
        return Path.Combine(workflow.ProjectDirectory, $".{Path.GetFileNameWithoutExtension(workflow.FileName)}.submitting.json");
    }

    public Task<bool> MayHaveSubmittedAsync(WorkflowLocation workflow, IReadOnlySet<string> jobNames, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobNames);
        var pending = Pending(PathFor(workflow));

        // null: a journal that cannot be read might name any job.
        return Task.FromResult(pending is null || pending.Overlaps(jobNames));
    }

    public async Task AnnounceAsync(WorkflowLocation workflow, IReadOnlyCollection<string> jobNames, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobNames);
        if (jobNames.Count == 0)
        {
            return;
        }

        var path = PathFor(workflow);

        // Names announced before and not cleared stay: this pass may not have looked for their jobs.
        var names = new HashSet<string>(Pending(path) ?? [], StringComparer.Ordinal);
        names.UnionWith(jobNames);
        var content = JsonSerializer.SerializeToUtf8Bytes(new Journal(DateTimeOffset.UtcNow, [.. names.Order(StringComparer.Ordinal)]), SnapshotJson.Options);
        await AtomicFile.WriteAsync(path, content, cancellationToken);
        _pending[path] = names;
    }

    public Task ClearAsync(WorkflowLocation workflow, CancellationToken cancellationToken)
    {
        var path = PathFor(workflow);
        if (_pending.TryGetValue(path, out var pending) && pending is { Count: 0 })
        {
            return Task.CompletedTask;
        }

        File.Delete(path);
        _pending[path] = [];
        return Task.CompletedTask;
    }

    /// <summary>The names in the journal file (read once, then known), empty when there is none, null when it cannot be read.</summary>
    private HashSet<string>? Pending(string path)
    {
        if (_pending.TryGetValue(path, out var known) && known is not null)
        {
            return known;
        }

        if (!File.Exists(path))
        {
            return _pending[path] = [];
        }

        try
        {
            var journal = JsonSerializer.Deserialize<Journal>(File.ReadAllBytes(path), SnapshotJson.Options);
            return journal?.JobNames is { } names ? _pending[path] = new HashSet<string>(names, StringComparer.Ordinal) : null;
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            // Not remembered: it is read again next time.
            return null;
        }
    }

    private sealed record Journal(DateTimeOffset AnnouncedAt, List<string> JobNames);
}

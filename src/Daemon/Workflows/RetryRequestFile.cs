using System.Text.Json;
using System.Text.Json.Serialization;
using System.Security.Cryptography;
using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Reconciliation;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Snapshots;

namespace Batchkeeper.Daemon.Workflows;

/// <summary>
/// Retry requests for a workflow <c>&lt;name&gt;.json</c> live in <c>&lt;name&gt;.retry.json</c> beside it:
/// <c>{"requests": [{"id": "…", "sample": "s1", "analysis": null, "requested_at": "…"}]}</c>. <c>batchkeeper retry</c>
/// (or a person) adds to it; the daemon applies each request once and removes the file when it has not changed since.
/// </summary>
public static class RetryRequestFile
{
    public const string Suffix = ".retry.json";

    /// <summary>A request file larger than this is refused (thousands of requests are a few hundred KiB).</summary>
    public const long MaxBytes = 4 * 1024 * 1024;

    public sealed record Entry(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("sample")] string? Sample,
        [property: JsonPropertyName("analysis")] string? Analysis,
        [property: JsonPropertyName("requested_at")] DateTimeOffset RequestedAt);

    public sealed record File([property: JsonPropertyName("requests")] List<Entry> Requests);

    public static string PathFor(string workflowPath) =>
        Path.Combine(Path.GetDirectoryName(workflowPath)!, Path.GetFileNameWithoutExtension(workflowPath) + Suffix);

    /// <summary>The workflow file a request file belongs to.</summary>
    public static string WorkflowFor(string requestPath) =>
        Path.Combine(Path.GetDirectoryName(requestPath)!, Path.GetFileName(requestPath)[..^Suffix.Length] + ".json");

    /// <summary>
    /// Reads the pending requests and the version of the bytes they came from (to delete the file only if unchanged).
    /// A file that cannot be read or parsed is an error for the snapshot, never an exception out of the pass.
    /// </summary>
    public static RetryRequestSet Read(string workflowPath)
    {
        var path = PathFor(workflowPath);
        var name = Path.GetFileName(path);
        byte[] content;
        try
        {
            // The daemon's one rule for reading files (a regular file inside the projects root, capped, with a deadline).
            var projectsRoot = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(path)))!;
            content = Files.ProjectFile.Read(path, projectsRoot, name, MaxBytes);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return RetryRequestSet.None;
        }
        catch (Core.Workflows.InputException e)
        {
            return new RetryRequestSet([], null, string.Join(" | ", e.Errors));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new RetryRequestSet([], null, $"{name}: cannot be read: {e.Message}");
        }

        try
        {
            var file = JsonSerializer.Deserialize<File>(content, SnapshotJson.Options);
            var requests = (file?.Requests ?? []).Select(r => new RetryRequest(r.Id, r.Sample, r.Analysis, r.RequestedAt)).ToArray();
            if (requests.Any(r => string.IsNullOrWhiteSpace(r.Id)))
            {
                return new RetryRequestSet([], null, new Core.Workflows.InputError(name, "requests", "every request needs an id").ToString());
            }

            return new RetryRequestSet(requests, Version(content), null);
        }
        catch (JsonException e)
        {
            return new RetryRequestSet([], null, new Core.Workflows.InputError(name, "requests",
                $"expected {{\"requests\": [{{\"id\": \"…\", \"sample\": null, \"analysis\": null, \"requested_at\": \"…\"}}]}} (at {e.Path ?? "$"}, line {(e.LineNumber ?? 0) + 1})").ToString());
        }
    }

    private static string Version(ReadOnlySpan<byte> content) => Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>Adds a request (as <c>batchkeeper retry</c> does), atomically.</summary>
    public static async Task<RetryRequest> AddAsync(string workflowPath, string? sample, string? analysis, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var path = PathFor(workflowPath);
        var existing = System.IO.File.Exists(path)
            ? JsonSerializer.Deserialize<File>(await System.IO.File.ReadAllBytesAsync(path, cancellationToken), SnapshotJson.Options)?.Requests ?? []
            : [];
        var entry = new Entry(Guid.NewGuid().ToString("N"), sample, analysis, now);
        existing.Add(entry);
        await AtomicFile.WriteAsync(path, JsonSerializer.SerializeToUtf8Bytes(new File(existing), SnapshotJson.Options), cancellationToken);
        return new RetryRequest(entry.Id, sample, analysis, now);
    }

    /// <summary>Removes the request file once its requests are applied, unless someone added to it meanwhile.</summary>
    public static void Consume(string workflowPath, string version)
    {
        var path = PathFor(workflowPath);
        try
        {
            if (Version(System.IO.File.ReadAllBytes(path)) == version)
            {
                System.IO.File.Delete(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone already, or busy: its ids are remembered in the snapshot, so nothing is applied twice.
        }
    }
}

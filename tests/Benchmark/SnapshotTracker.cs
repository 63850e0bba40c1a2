using System.Text.Json;

namespace Batchkeeper.Benchmark;

/// <summary>A snapshot's counts: complete slots, and active ones (queued or running).</summary>
public sealed record Summary(long Complete, long Active, long Failed);

/// <summary>
/// Watches the snapshots of a set of workflow files: when each was last replaced, its summary, and the bytes a round
/// wrote; and the daemon's heartbeat, for when each workflow's last pass ran (a pass that changes nothing writes no
/// snapshot). Only the head of a snapshot is read (the summary comes before the slots), and only when the file changed.
/// </summary>
public sealed class SnapshotTracker(IReadOnlyList<string> workflowFiles)
{
    private readonly Dictionary<string, (DateTime Written, Summary Summary)> _seen = new(StringComparer.Ordinal);

    /// <summary>The latest replacement time seen among the snapshots.</summary>
    public DateTimeOffset LastWrite { get; private set; }

    private static string SnapshotOf(string workflow) => Path.ChangeExtension(workflow, ".status.json");

    /// <summary>Waits until every snapshot exists and satisfies <paramref name="condition"/>.</summary>
    public async Task WaitForAsync(Func<Summary, bool> condition, TimeSpan timeout, Func<bool> failed)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var all = true;
            foreach (var file in workflowFiles)
            {
                if (Read(file) is not { } summary || !condition(summary))
                {
                    all = false;
                    break;
                }
            }

            if (all)
            {
                return;
            }

            Check(deadline, failed, "the snapshots to reach the expected counts");
            await Task.Delay(250);
        }
    }

    /// <summary>
    /// Waits until the daemon's heartbeat (<c>dashboard.json</c>) shows a pass of every workflow begun at or after
    /// <paramref name="start"/>; returns when the last of them ended (its row's start plus its duration). Snapshots are
    /// rewritten only when their content changed, so their write times no longer tell when a pass ran.
    /// </summary>
    public async Task<DateTimeOffset> WaitAllPassedAfterAsync(string projectsDirectory, DateTimeOffset start, TimeSpan timeout, Func<bool> failed)
    {
        var deadline = DateTime.UtcNow + timeout;
        var files = workflowFiles.Select(f => Path.GetRelativePath(projectsDirectory, f)).ToHashSet(StringComparer.Ordinal);
        while (true)
        {
            var dashboard = await Daemon.Snapshots.Dashboard.ReadAsync(projectsDirectory, CancellationToken.None);
            var rows = dashboard?.Workflows.Where(r => files.Contains(r.File) && r.ReconciledAt >= start).ToArray() ?? [];
            if (rows.Length == files.Count)
            {
                return rows.Max(r => r.ReconciledAt + TimeSpan.FromSeconds(r.PassSeconds ?? 0));
            }

            Check(deadline, failed, "a pass of every workflow in the dashboard");
            await Task.Delay(20);
        }
    }

    /// <summary>The snapshots' write times now, to tell afterwards which were written since.</summary>
    public Dictionary<string, DateTime> WriteTimes() =>
        workflowFiles.ToDictionary(f => f, f => File.GetLastWriteTimeUtc(SnapshotOf(f)), StringComparer.Ordinal);

    /// <summary>
    /// The bytes of the snapshots written since <paramref name="before"/> was taken: a write replaces the whole file, so
    /// each one written counts its size (one write per workflow in a round of one pass each).
    /// </summary>
    public long BytesWrittenSince(IReadOnlyDictionary<string, DateTime> before) =>
        workflowFiles.Where(f => File.GetLastWriteTimeUtc(SnapshotOf(f)) != before.GetValueOrDefault(f) && File.Exists(SnapshotOf(f)))
            .Sum(f => new FileInfo(SnapshotOf(f)).Length);

    /// <summary>Every snapshot's summary, as it is now.</summary>
    public IReadOnlyList<Summary> Summaries() => workflowFiles.Select(f => Read(f) ?? new Summary(0, 0, 0)).ToArray();

    private static void Check(DateTime deadline, Func<bool> failed, string what)
    {
        if (failed())
        {
            throw new InvalidOperationException($"the daemon exited while the benchmark waited for {what}");
        }

        if (DateTime.UtcNow > deadline)
        {
            throw new TimeoutException($"timed out waiting for {what}");
        }
    }

    private Summary? Read(string workflow)
    {
        var path = SnapshotOf(workflow);
        var written = File.GetLastWriteTimeUtc(path);
        if (written.Year < 1990)
        {
            return null;
        }

        if (_seen.TryGetValue(path, out var seen) && seen.Written == written)
        {
            return seen.Summary;
        }

        var summary = ReadSummary(path);
        if (summary is not null)
        {
            _seen[path] = (written, summary);
            LastWrite = LastWrite > written ? LastWrite : new DateTimeOffset(written, TimeSpan.Zero);
        }

        return summary;
    }

    /// <summary>The <c>summary</c> object of a snapshot, read from the first 64 KiB.</summary>
    private static Summary? ReadSummary(string path)
    {
        byte[] head;
        try
        {
            using var stream = File.OpenRead(path);
            head = new byte[Math.Min(stream.Length, 64 * 1024)];
            stream.ReadExactly(head);
        }
        catch (IOException)
        {
            return null;
        }

        var reader = new Utf8JsonReader(head, isFinalBlock: false, default);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("summary"))
                {
                    long complete = 0, queued = 0, running = 0, failed = 0;
                    reader.Read();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                    {
                        var name = reader.GetString();
                        reader.Read();
                        var value = reader.TokenType == JsonTokenType.Number ? reader.GetInt64() : 0;
                        switch (name)
                        {
                            case "complete": complete = value; break;
                            case "queued": queued = value; break;
                            case "running": running = value; break;
                            case "failed": failed = value; break;
                        }
                    }

                    return new Summary(complete, queued + running, failed);
                }
            }
        }
        catch (JsonException)
        {
            return null;
        }

        return null;
    }
}

using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Passes;

/// <summary>A workflow's slots per state in words, for its progress line: <c>3/6 complete, 2 retrying, 1 waiting</c>.</summary>
public static class ProgressText
{
    /// <summary>
    /// Complete out of the total, then every other state that has slots, in the order a slot goes through them (a state
    /// with none is left out, so that a line about retries says so instead of a row of zeros).
    /// </summary>
    public static string Of(SnapshotSummary s)
    {
        var parts = new List<string>(10) { $"{s.Complete}/{s.Total} complete" };
        Add(parts, s.Running, "running");
        Add(parts, s.Queued, "queued");
        Add(parts, s.Waiting, "waiting");
        Add(parts, s.Retrying, "retrying");
        Add(parts, s.Failed, "failed");
        Add(parts, s.Blocked, "blocked");
        Add(parts, s.Invalid, "invalid");
        Add(parts, s.Cancelled, "cancelled");
        return string.Join(", ", parts);
    }

    private static void Add(List<string> parts, int count, string state)
    {
        if (count > 0)
        {
            parts.Add($"{count} {state}");
        }
    }
}

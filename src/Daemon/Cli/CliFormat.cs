using System.Text.Json;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Daemon.Cli;

/// <summary>How the commands print things they share.</summary>
internal static class CliFormat
{
    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>A slot state as the snapshot writes it (<c>running</c>, <c>failed_permanent</c>).</summary>
    public static string Wire(SlotState state) => JsonSerializer.Serialize(state).Trim('"');

    /// <summary><c>12s</c>, <c>5m</c>, <c>3h</c>: how long ago <paramref name="at"/> was.</summary>
    public static string Age(DateTimeOffset at, DateTimeOffset now)
    {
        var age = now - at;
        return age < TimeSpan.FromMinutes(1) ? $"{Math.Max(0, (int)age.TotalSeconds)}s"
            : age < TimeSpan.FromHours(1) ? $"{(int)age.TotalMinutes}m"
            : $"{(int)age.TotalHours}h";
    }
}

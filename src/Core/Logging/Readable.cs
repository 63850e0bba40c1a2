using System.Globalization;

namespace Batchkeeper.Core.Logging;

/// <summary>
/// Times, durations and counts as a person reads them in a log line or a slot's message: <c>30 s</c>, <c>2 min 30 s</c>,
/// <c>2026-11-22T10:01:00Z</c>, <c>1 slot</c>. A <see cref="TimeSpan"/> or <see cref="DateTimeOffset"/> given to a log
/// line as itself would be <c>"00:00:00.2977536"</c> (quoted in the log file, which renders values as JSON) and a
/// round-trip time seven decimals long; the snapshot keeps the exact values in its own fields. Written here rather than
/// with Humanizer (served): its <c>TimeSpan.Humanize</c> spells units out and rounds to whole units (<c>1 second</c>
/// for 1.5 s), where these lines want the README's short units and a decimal below 10 s.
/// </summary>
public static class Readable
{
    /// <summary><c>298 ms</c>, <c>1.5 s</c>, <c>45 s</c>, <c>2 min 30 s</c>, <c>1 h 5 min</c>, <c>2 d 3 h</c>.</summary>
    public static string Duration(TimeSpan span)
    {
        if (span < TimeSpan.Zero)
        {
            return "-" + Duration(span == TimeSpan.MinValue ? TimeSpan.MaxValue : span.Negate());
        }

        if (span < TimeSpan.FromSeconds(1))
        {
            return $"{Math.Round(span.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)} ms";
        }

        if (span < TimeSpan.FromSeconds(10))
        {
            return $"{Math.Round(span.TotalSeconds, 1).ToString("0.#", CultureInfo.InvariantCulture)} s";
        }

        if (span < TimeSpan.FromMinutes(1))
        {
            return $"{Whole(span.TotalSeconds)} s";
        }

        if (span < TimeSpan.FromHours(1))
        {
            return Pair((int)span.TotalMinutes, "min", span.Seconds, "s");
        }

        return span < TimeSpan.FromDays(1)
            ? Pair((int)span.TotalHours, "h", span.Minutes, "min")
            : Pair((int)span.TotalDays, "d", span.Hours, "h");
    }

    /// <summary>UTC to the second, ISO 8601: <c>2026-11-22T10:01:00Z</c>.</summary>
    public static string Time(DateTimeOffset time) =>
        time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>UTC to the millisecond, ISO 8601: <c>2026-11-22T10:01:00.123Z</c>, for a line that orders close events.</summary>
    public static string PreciseTime(DateTimeOffset time) =>
        time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary><c>1 slot</c>, <c>2 slots</c>: a count with its noun, singular for one.</summary>
    public static string Count(int count, string noun) =>
        $"{count.ToString(CultureInfo.InvariantCulture)} {noun}{(count == 1 ? "" : "s")}";

    private static string Whole(double value) => Math.Floor(value).ToString(CultureInfo.InvariantCulture);

    private static string Pair(int major, string majorUnit, int minor, string minorUnit) =>
        minor == 0
            ? $"{major.ToString(CultureInfo.InvariantCulture)} {majorUnit}"
            : $"{major.ToString(CultureInfo.InvariantCulture)} {majorUnit} {minor.ToString(CultureInfo.InvariantCulture)} {minorUnit}";
}

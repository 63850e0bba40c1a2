using System.Globalization;

namespace Batchkeeper.BatchEmulator;

/// <summary>One event of an emulated CloudWatch Logs stream.</summary>
public sealed record EmulatedLogEvent(DateTimeOffset Timestamp, string Message);

/// <summary>
/// The CloudWatch Logs streams of the emulated jobs: Batch's awslogs driver writes a job's output to the stream named
/// in its <c>logStreamName</c>, in the log group <see cref="BatchEmulatorOptions.LogGroup"/>. The emulator writes a line
/// when an attempt starts and one when it ends; tests add lines of their own with <see cref="Append"/>.
/// </summary>
/// <remarks>
/// Paging follows GetLogEvents: tokens are <c>f/…</c> (read on from here) and <c>b/…</c> (read back from here), and a
/// read at the end of the stream hands back the forward token it was given.
/// </remarks>
public sealed class EmulatedLogs
{
    private readonly Dictionary<string, List<EmulatedLogEvent>> _streams = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>Adds one event at the end of a stream, creating the stream.</summary>
    public void Append(string stream, string message, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(message);
        lock (_gate)
        {
            if (!_streams.TryGetValue(stream, out var events))
            {
                _streams[stream] = events = [];
            }

            events.Add(new EmulatedLogEvent(at, message));
        }
    }

    /// <summary>Every event of a stream, oldest first; empty when there is no such stream.</summary>
    public IReadOnlyList<EmulatedLogEvent> Events(string stream)
    {
        lock (_gate)
        {
            return _streams.TryGetValue(stream, out var events) ? [.. events] : [];
        }
    }

    internal void Clear()
    {
        lock (_gate)
        {
            _streams.Clear();
        }
    }

    /// <summary>One page as GetLogEvents answers it; null when the stream does not exist.</summary>
    internal LogPage? Read(string stream, string? token, bool startFromHead, int limit)
    {
        lock (_gate)
        {
            if (!_streams.TryGetValue(stream, out var events))
            {
                return null;
            }

            int start, end;
            if (token is null)
            {
                // Without a token the service starts from the newest events unless asked for the head.
                start = startFromHead ? 0 : Math.Max(0, events.Count - limit);
                end = Math.Min(events.Count, start + limit);
            }
            else if (ParseToken(token, 'f') is { } from)
            {
                start = Math.Min(from, events.Count);
                end = Math.Min(events.Count, start + limit);
            }
            else if (ParseToken(token, 'b') is { } before)
            {
                end = Math.Min(before, events.Count);
                start = Math.Max(0, end - limit);
            }
            else
            {
                throw new FormatException($"The specified nextToken is invalid: {token}");
            }

            return new LogPage([.. events.Skip(start).Take(end - start)], Token('f', end), Token('b', start));
        }
    }

    private static string Token(char direction, int index) => $"{direction}/{index.ToString("D20", CultureInfo.InvariantCulture)}";

    private static int? ParseToken(string token, char direction) =>
        token.Length > 2 && token[0] == direction && token[1] == '/'
            && int.TryParse(token.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            ? index
            : null;
}

internal sealed record LogPage(IReadOnlyList<EmulatedLogEvent> Events, string NextForwardToken, string NextBackwardToken);

using System.Diagnostics;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Batchkeeper.BatchEmulator;

/// <summary>When a request arrived and its place in the log.</summary>
internal readonly record struct RequestArrival(long Sequence, DateTimeOffset ReceivedAt, long StartedTimestamp);

/// <summary>The requests received by one API (Batch and CloudWatch Logs share one; SQS has its own), oldest first, bounded.</summary>
internal sealed class RequestLog(int capacity)
{
    private readonly object _gate = new();
    private readonly LinkedList<RecordedRequest> _entries = new();
    private long _sequence;
    private int _inFlight;

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>A request arrived: its sequence number. <see cref="Add"/> ends it.</summary>
    public long Begin()
    {
        Interlocked.Increment(ref _inFlight);
        return Interlocked.Increment(ref _sequence);
    }

    /// <summary>A request arrived now: its arrival. <see cref="Add(HttpContext, RequestArrival, string, string, int, string?, string?)"/> ends it.</summary>
    public RequestArrival Begin(TimeProvider time) => new(Begin(), time.GetUtcNow(), Stopwatch.GetTimestamp());

    /// <summary>Ends a request begun with <see cref="Begin(TimeProvider)"/>: records it with what the context tells of it.</summary>
    public void Add(HttpContext context, RequestArrival arrival, string operation, string body, int statusCode, string? errorType, string? fault = null)
    {
        var headers = context.Request.Headers;
        Add(new RecordedRequest
        {
            Sequence = arrival.Sequence,
            Operation = operation,
            Path = context.Request.Path.Value ?? "",
            ReceivedAt = arrival.ReceivedAt,
            Body = body,
            IsSigned = headers.Authorization.ToString().StartsWith("AWS4-HMAC-SHA256", StringComparison.Ordinal),
            SessionToken = headers["X-Amz-Security-Token"].ToString() is { Length: > 0 } token ? token : null,
            ContentType = context.Request.ContentType,
            StatusCode = statusCode,
            ErrorType = errorType,
            Fault = fault,
            Duration = Stopwatch.GetElapsedTime(arrival.StartedTimestamp),
        });
    }

    /// <summary>The request's body as text (what the log keeps of it).</summary>
    public static async Task<string> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        return await reader.ReadToEndAsync(ct).ConfigureAwait(false);
    }

    public void Add(RecordedRequest request)
    {
        lock (_gate)
        {
            _entries.AddLast(request);
            while (_entries.Count > capacity)
            {
                _entries.RemoveFirst();
            }
        }

        Interlocked.Decrement(ref _inFlight);
    }

    public IReadOnlyList<RecordedRequest> Snapshot()
    {
        lock (_gate)
        {
            // Requests finish out of order (stalls, latency); hand them out in order of arrival.
            return [.. _entries.OrderBy(e => e.Sequence)];
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _entries.Clear();
        }
    }
}

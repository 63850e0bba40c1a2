namespace Batchkeeper.BatchEmulator;

/// <summary>The Batch API requests received, oldest first, bounded.</summary>
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

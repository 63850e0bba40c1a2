namespace Batchkeeper.Daemon.Metrics;

/// <summary>Requests to one backend service in the last minute, and how many of them were throttled.</summary>
public readonly record struct RequestRate(int Requests, int Throttled);

/// <summary>
/// Backend requests (Batch, S3, …) per service over the last minute, for the status page's health line ("Batch 240
/// requests a minute, 3 throttled"). Prometheus's counters give rates to whoever scrapes them; a page without a
/// Prometheus needs the figure itself, so this keeps sixty one-second buckets per service.
/// </summary>
public sealed class RequestRates(TimeProvider clock)
{
    private const int Buckets = 60;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Window> _services = new(StringComparer.Ordinal);

    /// <summary>Counts one request to <paramref name="service"/> (e.g. <c>batch</c>, <c>s3</c>).</summary>
    public void Record(string service, bool throttled)
    {
        var second = clock.GetUtcNow().ToUnixTimeSeconds();
        lock (_lock)
        {
            if (!_services.TryGetValue(service, out var window))
            {
                window = new Window();
                _services[service] = window;
            }

            window.Add(second, throttled);
        }
    }

    /// <summary>Every service seen so far, with its requests in the last sixty seconds.</summary>
    public IReadOnlyDictionary<string, RequestRate> LastMinute()
    {
        var second = clock.GetUtcNow().ToUnixTimeSeconds();
        lock (_lock)
        {
            return _services.ToDictionary(s => s.Key, s => s.Value.Sum(second), StringComparer.Ordinal);
        }
    }

    private sealed class Window
    {
        private readonly long[] _seconds = new long[Buckets];
        private readonly int[] _requests = new int[Buckets];
        private readonly int[] _throttled = new int[Buckets];

        public void Add(long second, bool throttled)
        {
            var i = (int)(second % Buckets);
            if (_seconds[i] != second)
            {
                _seconds[i] = second;
                _requests[i] = 0;
                _throttled[i] = 0;
            }

            _requests[i]++;
            if (throttled)
            {
                _throttled[i]++;
            }
        }

        public RequestRate Sum(long now)
        {
            int requests = 0, throttled = 0;
            for (var i = 0; i < Buckets; i++)
            {
                if (now - _seconds[i] < Buckets)
                {
                    requests += _requests[i];
                    throttled += _throttled[i];
                }
            }

            return new RequestRate(requests, throttled);
        }
    }
}

using System.Diagnostics;
using System.Threading.RateLimiting;
using Amazon.Runtime;
using Batchkeeper.Daemon.Metrics;

namespace Batchkeeper.Daemon.Aws;

/// <summary>
/// The HTTP clients of an AWS SDK client (S3, SQS), with every request, the SDK's own retries included, taking a permit
/// of one shared rate limiter first: the SDK keeps its retry policy, Batchkeeper adds the rate it must not exceed. Every
/// attempt is counted here too (<paramref name="requests"/>, under <paramref name="service"/>), the one place the SDK's
/// retries pass through.
/// </summary>
/// <param name="attemptTimeout">
/// When set, the limit of every request but a long poll (SQS's ReceiveMessage), whose client's Timeout is longer by the
/// poll's wait: a DeleteMessageBatch to a hung queue is given up as any other request is.
/// </param>
internal sealed class RateLimitedHttpClientFactory(RateLimiter limiter, BackendRequests? requests = null, string service = RateLimitedHttpClientFactory.S3, TimeSpan? attemptTimeout = null) : HttpClientFactory
{
    /// <summary>The service names the attempts are counted under.</summary>
    public const string S3 = "s3";

    public const string Sqs = "sqs";

    /// <summary>The one operation that waits on purpose: SQS's long poll.</summary>
    private const string LongPoll = "ReceiveMessage";

    private readonly Lock _lock = new();
    private Handler? _handler;

    /// <summary>
    /// An HTTP client over the factory's one handler chain (limiter, count, connection pool). The SDK asks for a client
    /// for every request when it does not cache them (<see cref="UseSDKHttpClientCaching"/>): a handler of its own per
    /// request was a TCP connection (and against AWS a TLS handshake) per request, 300 a steady pass at the benchmark's
    /// goal size, each socket left to the finalizer. The clients are thin: they are left to the collector rather than
    /// disposed (<see cref="DisposeHttpClientsAfterUse"/>), since disposing one cancels what it still reads.
    /// </summary>
    public override HttpClient CreateHttpClient(IClientConfig clientConfig)
    {
        ArgumentNullException.ThrowIfNull(clientConfig);
        var client = new HttpClient(HandlerFor(clientConfig), disposeHandler: false);
        if (clientConfig.Timeout is { } timeout)
        {
            client.Timeout = timeout;
        }

        return client;
    }

    /// <summary>The chain, made on the first request: one factory serves one SDK client, so one configuration.</summary>
    private Handler HandlerFor(IClientConfig clientConfig)
    {
        lock (_lock)
        {
            return _handler ??= new Handler(limiter, requests, service, clientConfig.Timeout, attemptTimeout)
            {
                InnerHandler = new SocketsHttpHandler
                {
                    ConnectTimeout = TimeSpan.FromSeconds(10),
                    PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                    MaxConnectionsPerServer = clientConfig.MaxConnectionsPerServer ?? int.MaxValue,
                    AllowAutoRedirect = false,
                },
            };
        }
    }

    /// <summary>The SDK's cache would hold clients of its own choosing; this factory keeps the one chain that matters.</summary>
    public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

    public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

    /// <summary>
    /// The operation of a request (the SDK's operation name does not reach its HTTP requests): an SQS request's from its
    /// <c>X-Amz-Target</c> (<c>AmazonSQS.DeleteMessageBatch</c>); an S3 request's from its method and query: what
    /// S3OutputStore asks, HeadObject and ListObjectsV2, and the few others an SDK client sends.
    /// </summary>
    internal static string OperationOf(HttpRequestMessage request)
    {
        if (request.Headers.TryGetValues("X-Amz-Target", out var targets) && targets.FirstOrDefault() is { } target)
        {
            return target[(target.LastIndexOf('.') + 1)..];
        }

        var query = request.RequestUri?.Query ?? "";
        return request.Method.Method switch
        {
            "HEAD" => "HeadObject",
            "GET" when query.Contains("list-type=2", StringComparison.Ordinal) => "ListObjectsV2",
            "GET" => "GetObject",
            "PUT" => "PutObject",
            "DELETE" => "DeleteObject",
            var method => method,
        };
    }

    private sealed class Handler(RateLimiter limiter, BackendRequests? requests, string service, TimeSpan? timeout, TimeSpan? attemptTimeout) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            // The HttpClient's timeout runs from before the permit's wait too, and so does the shorter limit; the
            // HttpClient reports a cancellation that is not its caller's as its timeout, so the SDK retries it as one.
            var started = Stopwatch.GetTimestamp();
            var operation = OperationOf(request);
            var shorter = attemptTimeout is { } attempt && operation != LongPoll && attempt < timeout ? attempt : (TimeSpan?)null;
            using var cut = shorter is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cut?.CancelAfter(shorter!.Value);
            var token = cut?.Token ?? cancellationToken;
            using var lease = await limiter.AcquireAsync(1, token).ConfigureAwait(false);
            if (!lease.IsAcquired)
            {
                throw new HttpRequestException($"The {service} rate limiter refused a request (its queue is full).");
            }

            return await SendCountedAsync(request, operation, shorter ?? timeout, started, token).ConfigureAwait(false);
        }

        private async Task<HttpResponseMessage> SendCountedAsync(HttpRequestMessage request, string operation, TimeSpan? limit, long started, CancellationToken cancellationToken)
        {
            if (requests is null)
            {
                return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }

            try
            {
                var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
                // S3 says "slow down" with 503 SlowDown; its code is in the body, which is the SDK's to read.
                var status = (int)response.StatusCode;
                var outcome = status == 404 && operation == "HeadObject" ? BackendOutcomes.Ok : BackendOutcomes.Of(status, throttled: service == S3 && status == 503);
                requests.Record(service, operation, outcome);
                return response;
            }
            catch (OperationCanceledException) when (limit is { } l && Stopwatch.GetElapsedTime(started) >= l * 0.99)
            {
                // The HttpClient's timeout (the SDK's per-attempt Timeout) cancels the same token as the caller's stop
                // does: an attempt cut at its limit (its timer started a moment before ours) is the timeout; one cut
                // before it was the caller's and is not counted.
                requests.Record(service, operation, BackendOutcomes.Timeout);
                throw;
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                requests.Record(service, operation, BackendOutcomes.Network);
                throw;
            }
        }
    }
}

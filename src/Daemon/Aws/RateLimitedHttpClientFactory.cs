using System.Diagnostics;
using System.Threading.RateLimiting;
using Amazon.Runtime;
using Batchkeeper.Daemon.Metrics;

namespace Batchkeeper.Daemon.Aws;

/// <summary>
/// The HTTP clients of an AWS SDK client (S3), with every request, the SDK's own retries included, taking a permit of
/// one shared rate limiter first: the SDK keeps its retry policy, Batchkeeper adds the rate it must not exceed. Every
/// attempt is counted here too (<paramref name="requests"/>), the one place the SDK's retries pass through.
/// </summary>
internal sealed class RateLimitedHttpClientFactory(RateLimiter limiter, BackendRequests? requests = null) : HttpClientFactory
{
    /// <summary>The service name the attempts are counted under.</summary>
    public const string ServiceName = "s3";

    public override HttpClient CreateHttpClient(IClientConfig clientConfig)
    {
        ArgumentNullException.ThrowIfNull(clientConfig);
        var transport = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            MaxConnectionsPerServer = clientConfig.MaxConnectionsPerServer ?? int.MaxValue,
            AllowAutoRedirect = false,
        };
        var client = new HttpClient(new Handler(limiter, requests, clientConfig.Timeout) { InnerHandler = transport }, disposeHandler: true);
        if (clientConfig.Timeout is { } timeout)
        {
            client.Timeout = timeout;
        }

        return client;
    }

    /// <summary>One SDK client keeps its HTTP client: the limiter and the connection pool are the client's.</summary>
    public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

    public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

    /// <summary>
    /// The S3 operation of a request, from its method and query (the SDK's operation name does not reach its HTTP
    /// requests): what S3OutputStore asks, HeadObject and ListObjectsV2, and the few others an SDK client sends.
    /// </summary>
    internal static string OperationOf(HttpRequestMessage request)
    {
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

    private sealed class Handler(RateLimiter limiter, BackendRequests? requests, TimeSpan? timeout) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            // The HttpClient's timeout runs from before the permit's wait too.
            var started = Stopwatch.GetTimestamp();
            using var lease = await limiter.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
            if (!lease.IsAcquired)
            {
                throw new HttpRequestException("The S3 rate limiter refused a request (its queue is full).");
            }

            if (requests is null)
            {
                return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }

            var operation = OperationOf(request);
            try
            {
                var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
                // S3 says "slow down" with 503 SlowDown; its code is in the body, which is the SDK's to read.
                var status = (int)response.StatusCode;
                var outcome = status == 404 && operation == "HeadObject" ? BackendOutcomes.Ok : BackendOutcomes.Of(status, throttled: status == 503);
                requests.Record(ServiceName, operation, outcome);
                return response;
            }
            catch (OperationCanceledException) when (timeout is { } limit && Stopwatch.GetElapsedTime(started) >= limit * 0.99)
            {
                // The HttpClient's timeout (the SDK's per-attempt Timeout) cancels the same token as the caller's stop
                // does: an attempt cut at its limit (its timer started a moment before ours) is the timeout; one cut
                // before it was the caller's and is not counted.
                requests.Record(ServiceName, operation, BackendOutcomes.Timeout);
                throw;
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                requests.Record(ServiceName, operation, BackendOutcomes.Network);
                throw;
            }
        }
    }
}

using System.Threading.RateLimiting;
using Amazon.Runtime;

namespace Batchkeeper.Daemon.Aws;

/// <summary>
/// The HTTP clients of an AWS SDK client (S3), with every request, the SDK's own retries included, taking a permit of
/// one shared rate limiter first: the SDK keeps its retry policy, Batchkeeper adds the rate it must not exceed.
/// </summary>
internal sealed class RateLimitedHttpClientFactory(RateLimiter limiter) : HttpClientFactory
{
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
        var client = new HttpClient(new Handler(limiter) { InnerHandler = transport }, disposeHandler: true);
        if (clientConfig.Timeout is { } timeout)
        {
            client.Timeout = timeout;
        }

        return client;
    }

    /// <summary>One SDK client keeps its HTTP client: the limiter and the connection pool are the client's.</summary>
    public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

    public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

    private sealed class Handler(RateLimiter limiter) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            using var lease = await limiter.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
            if (!lease.IsAcquired)
            {
                throw new HttpRequestException("The S3 rate limiter refused a request (its queue is full).");
            }

            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
    }
}

using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Signing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using System.Threading.RateLimiting;

namespace Batchkeeper.Daemon.Aws;

/// <summary>Replaceable parts of a connection, for tests. Anything left null gets its production default.</summary>
internal sealed record AwsClientSeams
{
    /// <summary>Default: the SDK's default chain, looked up on first use (<see cref="LazyAwsCredentials"/>).</summary>
    public AWSCredentials? Credentials { get; init; }

    /// <summary>The innermost handler. Default: a <see cref="SocketsHttpHandler"/> that does not follow redirects.</summary>
    public HttpMessageHandler? Transport { get; init; }

    public TimeProvider? TimeProvider { get; init; }

    public RateLimiter? Limiter { get; init; }

    public Func<double>? Random { get; init; }
}

/// <summary>
/// Everything one AWS service client needs to talk to its service: the region, the endpoint and an
/// <see cref="HttpClient"/> whose pipeline is, from the outside in,
/// <see cref="AwsResilienceHandler"/> (rate permit, attempt timeout, retries) →
/// the SDK's <see cref="SigV4SigningHandler"/> (signs every attempt) → the transport.
/// </summary>
internal sealed class AwsServiceConnection : IDisposable
{
    private readonly IDisposable[] _owned;

    private AwsServiceConnection(HttpClient http, Uri serviceUrl, ResolvedRegion region, AwsResiliencePolicy policy, IDisposable[] owned)
    {
        Http = http;
        ServiceUrl = serviceUrl;
        Region = region.Endpoint;
        RegionSource = region.Source;
        Policy = policy;
        _owned = owned;
    }

    public HttpClient Http { get; }

    /// <summary>The endpoint, always ending in <c>/</c>.</summary>
    public Uri ServiceUrl { get; }

    public RegionEndpoint Region { get; }

    public string RegionSource { get; }

    public AwsResiliencePolicy Policy { get; }

    /// <param name="signingName">The SigV4 service name, e.g. <c>batch</c>.</param>
    /// <param name="endpointPrefix">The host prefix of the AWS endpoint, e.g. <c>batch</c>.</param>
    /// <param name="serviceUrl">The configured endpoint, or null for the AWS one.</param>
    /// <param name="options">Region, retry and rate settings.</param>
    /// <param name="loggerFactory">Where retries and the start-up line are logged.</param>
    /// <param name="seams">Test seams.</param>
    /// <exception cref="AwsConfigurationException">No region, or a malformed region or URL.</exception>
    public static AwsServiceConnection Create(
        string signingName,
        string endpointPrefix,
        string? serviceUrl,
        AwsOptions options,
        ILoggerFactory? loggerFactory = null,
        AwsClientSeams? seams = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        loggerFactory ??= NullLoggerFactory.Instance;
        seams ??= new AwsClientSeams();
        var logger = loggerFactory.CreateLogger("Batchkeeper.Daemon.Aws");

        var region = AwsRegionResolver.Resolve(options.Region);
        Uri endpoint;
        if (string.IsNullOrWhiteSpace(serviceUrl))
        {
            var dnsSuffix = string.IsNullOrEmpty(region.Endpoint.PartitionDnsSuffix) ? "amazonaws.com" : region.Endpoint.PartitionDnsSuffix;
            endpoint = new Uri($"https://{endpointPrefix}.{region.Endpoint.SystemName}.{dnsSuffix}/");
        }
        else
        {
            endpoint = ParseServiceUrl(serviceUrl)
                ?? throw new AwsConfigurationException($"The {signingName} service URL '{serviceUrl}' is not an absolute http:// or https:// URL.");
        }

        var owned = new List<IDisposable>();
        var credentials = seams.Credentials;
        if (credentials is null)
        {
            var lazy = new LazyAwsCredentials(logger);
            owned.Add(lazy);
            credentials = lazy;
        }

        var policy = new AwsResiliencePolicy(signingName, options, seams.TimeProvider, seams.Limiter, seams.Random);
        owned.Add(policy);

        // A redirect followed below the signer would go out with a signature for another URL.
        var transport = seams.Transport ?? new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        var signer = new SigV4SigningHandler(credentials, region.Endpoint, signingName, transport);
        var resilience = new AwsResilienceHandler(policy, logger)
        {
            InnerHandler = signer,
            CredentialsRejected = credentials is LazyAwsCredentials shared ? shared.Invalidate : null,
        };

        // Attempts have their own timeout; an overall HttpClient timeout would cut retries short.
        var http = new HttpClient(resilience, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.UserAgent.ParseAdd($"batchkeeper/{typeof(AwsServiceConnection).Assembly.GetName().Version?.ToString(3) ?? "0"}");
        owned.Add(http);

        AwsLog.ClientCreated(logger, signingName, region.Endpoint.SystemName, region.Source, endpoint);
        return new AwsServiceConnection(http, endpoint, region, policy, [.. owned]);
    }

    /// <summary>Parses an absolute http(s) URL and makes it end in <c>/</c>; null when it is not one.</summary>
    public static Uri? ParseServiceUrl(string value)
    {
        if (!Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || !string.IsNullOrEmpty(uri.Query)
            || !string.IsNullOrEmpty(uri.Fragment))
        {
            return null;
        }

        return WithTrailingSlash(uri);
    }

    /// <summary>The URL with its path ending in <c>/</c>, so relative operation paths resolve below it.</summary>
    public static Uri WithTrailingSlash(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return uri.AbsolutePath.EndsWith('/') ? uri : new Uri(uri.GetLeftPart(UriPartial.Path) + "/");
    }

    public void Dispose()
    {
        // The HttpClient (last in) goes first: nothing may use the policy or credentials after it.
        for (var i = _owned.Length - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }
    }
}

using System.Threading.RateLimiting;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.SQS;
using Batchkeeper.Core.Ports;
using Batchkeeper.Daemon.Aws.Batch;
using Batchkeeper.Daemon.Aws.JobStates;
using Batchkeeper.Daemon.Outputs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Aws;

/// <summary>Registers the AWS backend: Batch for jobs, S3 (with local files) for outputs.</summary>
public static class AwsBackendRegistration
{
    /// <summary>
    /// Jobs on Batch and outputs on S3, both configured from <c>Batchkeeper:Aws</c>. Credentials come from the
    /// SDK's default chain (environment, profile, SSO, web identity, ECS, instance role) unless an
    /// <see cref="AWSCredentials"/> is registered in the container (tests register fixed ones).
    /// </summary>
    public static IServiceCollection AddAwsBackend(this IServiceCollection services)
    {
        services.AddAwsClients();
        services.AddJobStates();
        services.AddSingleton(sp => new AwsBatchJobBackend(
            sp.GetRequiredService<IBatchClient>(),
            passesInFlight: sp.GetService<Systemd.LoopHealth>() is { } health ? () => health.PassesRunning : null,
            clock: sp.GetService<TimeProvider>(),
            states: sp.GetRequiredService<JobStateCache>(),
            logger: sp.GetRequiredService<ILoggerFactory>().CreateLogger(AwsServiceCollectionExtensions.LogCategory)));
        services.AddSingleton<IJobBackend>(sp => sp.GetRequiredService<AwsBatchJobBackend>());

        services.AddSingleton<IAmazonS3>(provider => CreateS3Client(
            provider.GetRequiredService<IOptions<AwsOptions>>().Value, AwsServiceCollectionExtensions.Credentials(provider),
            requests: provider.GetService<Metrics.BackendRequests>()));
        services.AddSingleton(sp => new S3OutputStore(sp.GetRequiredService<IAmazonS3>(), sp.GetRequiredService<TimeProvider>())
        {
            CredentialsRejected = AwsServiceCollectionExtensions.CredentialsRejected(sp),
        });
        services.AddSingleton<IOutputStore>(sp => new RoutingOutputStore(sp.GetRequiredService<LocalOutputStore>(), sp.GetRequiredService<S3OutputStore>()));
        return services;
    }

    /// <summary>An S3 client for the configured region and endpoint (path style for emulators such as s3rver).</summary>
    /// <param name="limiter">Every request's permit; default: a token bucket of <see cref="AwsOptions.S3MaxRequestsPerSecond"/>.</param>
    /// <param name="requests">Where every attempt is counted, when metrics are served.</param>
    internal static AmazonS3Client CreateS3Client(AwsOptions options, AWSCredentials? credentials, RateLimiter? limiter = null, Metrics.BackendRequests? requests = null)
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.S3ForcePathStyle,
            // Checksums only where S3 requires them: S3-compatible servers reject what they do not know.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        Configure(config, options, options.S3ServiceUrl, options.AttemptTimeout,
            new RateLimitedHttpClientFactory(limiter ?? new TokenBucketRateLimiter(AwsResiliencePolicy.CreateRateLimiterOptions(options.S3MaxRequestsPerSecond)), requests));
        return credentials is null ? new AmazonS3Client(config) : new AmazonS3Client(credentials, config);
    }

    /// <summary>
    /// The SQS client of the events queue, configured as the S3 client is (endpoint, region, credentials, the SDK's
    /// retries, a rate, its attempts counted as <c>sqs</c>): a receive may take a long poll's wait on top of
    /// <see cref="AwsOptions.AttemptTimeout"/>, every other request that timeout alone.
    /// </summary>
    internal static AmazonSQSClient CreateSqsClient(AwsOptions options, AWSCredentials? credentials, Metrics.BackendRequests? requests = null)
    {
        var config = new AmazonSQSConfig();
        Configure(config, options, options.SqsServiceUrl, options.AttemptTimeout + TimeSpan.FromSeconds(JobEventsConsumer.WaitSeconds),
            new RateLimitedHttpClientFactory(
                new TokenBucketRateLimiter(AwsResiliencePolicy.CreateRateLimiterOptions(SqsMaxRequestsPerSecond)), requests, RateLimitedHttpClientFactory.Sqs, options.AttemptTimeout));
        return credentials is null ? new AmazonSQSClient(config) : new AmazonSQSClient(credentials, config);
    }

    /// <summary>
    /// SQS requests per second at most. One loop receives (a long poll at a time) and deletes (10 messages a call), so
    /// this only bounds a burst of deletions; SQS serves far more.
    /// </summary>
    internal const int SqsMaxRequestsPerSecond = 100;

    /// <summary>What every SDK client of the daemon shares: the rate of its own and its count (<paramref name="http"/>), the SDK's retries, timeout, endpoint and region.</summary>
    private static void Configure(ClientConfig config, AwsOptions options, string? serviceUrl, TimeSpan timeout, RateLimitedHttpClientFactory http)
    {
        var region = AwsRegionResolver.Resolve(options.Region).Endpoint;
        // One rate per service as for Batch; the SDK's retries (exponential backoff with jitter) stay its own.
        config.HttpClientFactory = http;
        config.MaxErrorRetry = Math.Max(0, options.MaxAttempts - 1);
        config.Timeout = timeout;
        if (serviceUrl is { } url)
        {
            config.ServiceURL = url;
            config.AuthenticationRegion = region.SystemName;
        }
        else
        {
            config.RegionEndpoint = region;
        }
    }
}

using Amazon.Runtime;
using Amazon.S3;
using Batchkeeper.Core.Ports;
using Batchkeeper.Daemon.Aws.Batch;
using Batchkeeper.Daemon.Outputs;
using Microsoft.Extensions.DependencyInjection;
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
        services.AddSingleton(sp => new AwsBatchJobBackend(
            sp.GetRequiredService<IBatchClient>(),
            passesInFlight: sp.GetService<Systemd.LoopHealth>() is { } health ? () => health.PassesRunning : null,
            clock: sp.GetService<TimeProvider>()));
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
    internal static AmazonS3Client CreateS3Client(
        AwsOptions options, AWSCredentials? credentials, System.Threading.RateLimiting.RateLimiter? limiter = null, Metrics.BackendRequests? requests = null)
    {
        var region = AwsRegionResolver.Resolve(options.Region).Endpoint;
        limiter ??= new System.Threading.RateLimiting.TokenBucketRateLimiter(AwsResiliencePolicy.CreateRateLimiterOptions(options.S3MaxRequestsPerSecond));
        var config = new AmazonS3Config
        {
            // One rate for S3 as for Batch; the SDK's retries (exponential backoff with jitter) stay its own.
            HttpClientFactory = new RateLimitedHttpClientFactory(limiter, requests),
            ForcePathStyle = options.S3ForcePathStyle,
            MaxErrorRetry = Math.Max(0, options.MaxAttempts - 1),
            Timeout = options.AttemptTimeout,
            // Checksums only where S3 requires them: S3-compatible servers reject what they do not know.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (options.S3ServiceUrl is { } url)
        {
            config.ServiceURL = url;
            config.AuthenticationRegion = region.SystemName;
        }
        else
        {
            config.RegionEndpoint = region;
        }

        return credentials is null ? new AmazonS3Client(config) : new AmazonS3Client(credentials, config);
    }
}

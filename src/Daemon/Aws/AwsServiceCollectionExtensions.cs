using Amazon.Runtime;
using Amazon.Runtime.Signing;
using Batchkeeper.Daemon.Aws.Batch;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Aws;

/// <summary>Registers the AWS clients, for the daemon and the CLI alike.</summary>
public static class AwsServiceCollectionExtensions
{
    /// <summary>The logger category of the AWS clients' lines (retries, the start-up line, credentials).</summary>
    internal const string LogCategory = "Batchkeeper.Daemon.Aws";

    /// <summary>
    /// Registers <see cref="AwsOptions"/> bound from <c>Batchkeeper:Aws</c> and validated at start-up, and the
    /// <see cref="BatchClient"/> (as <see cref="IBatchClient"/> too) and <see cref="CloudWatchLogsClient"/> singletons over named HttpClients
    /// (<see cref="BatchClient.ServiceName"/>, <see cref="CloudWatchLogsClient.ServiceName"/>). Each HttpClient is,
    /// from the outside in: the Microsoft.Extensions.Http.Resilience pipeline of <see cref="AwsResiliencePipeline"/>
    /// (one retry policy and token bucket per service), <see cref="ResponseBufferingHandler"/>, the SDK's
    /// <see cref="SigV4SigningHandler"/> and a transport that follows no redirects. A client, and with it the region
    /// lookup, is only created when first asked for, so a host on the local backend needs no AWS settings. Credentials
    /// are the registered <see cref="AWSCredentials"/> (tests register fixed ones), else the SDK's default chain.
    /// </summary>
    /// <param name="services">The service collection; an <c>IConfiguration</c> must be registered (every host has one).</param>
    /// <param name="configure">Applied after the configuration is bound, e.g. to set a test endpoint.</param>
    public static IServiceCollection AddAwsClients(this IServiceCollection services, Action<AwsOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<AwsOptions>().BindConfiguration(AwsOptions.SectionName).ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        if (services.Any(d => d.ServiceType == typeof(Marker)))
        {
            return services; // the clients are registered once, whoever asks twice
        }

        services.AddSingleton<Marker>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AwsOptions>, AwsOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        // One credentials source for every AWS client: looked up on first use and again after a failed lookup or a
        // rejection, so that credentials provided after the start (a profile file written later) are found without a restart.
        services.TryAddSingleton(provider => new LazyAwsCredentials(provider.GetService<ILoggerFactory>()?.CreateLogger(LogCategory)));

        AddServiceClient(services, BatchClient.ServiceName, o => o.BatchServiceUrl);
        services.TryAddSingleton(provider => new BatchClient(
            provider.GetRequiredService<IHttpClientFactory>().CreateClient(BatchClient.ServiceName),
            provider.GetRequiredKeyedService<AwsServiceEndpoint>(BatchClient.ServiceName),
            CredentialsRejected(provider)));
        services.TryAddSingleton<IBatchClient>(provider => provider.GetRequiredService<BatchClient>());

        AddServiceClient(services, CloudWatchLogsClient.ServiceName, o => o.LogsServiceUrl);
        services.TryAddSingleton(provider => new CloudWatchLogsClient(
            provider.GetRequiredService<IHttpClientFactory>().CreateClient(CloudWatchLogsClient.ServiceName),
            provider.GetRequiredKeyedService<AwsServiceEndpoint>(CloudWatchLogsClient.ServiceName),
            CredentialsRejected(provider)));
        return services;
    }

    /// <summary>Credentials registered in the container (tests register fixed ones), else the shared lazy default chain.</summary>
    internal static AWSCredentials Credentials(IServiceProvider provider) =>
        provider.GetService<AWSCredentials>() ?? provider.GetRequiredService<LazyAwsCredentials>();

    /// <summary>What a client calls when the service rejects the credentials: the default chain looks them up again.</summary>
    internal static Action? CredentialsRejected(IServiceProvider provider) =>
        Credentials(provider) is LazyAwsCredentials shared ? shared.Invalidate : null;

    /// <summary>The endpoint, the policy and the named HttpClient of one service (signing name = endpoint prefix = client name).</summary>
    private static void AddServiceClient(IServiceCollection services, string name, Func<AwsOptions, string?> serviceUrl)
    {
        services.TryAddKeyedSingleton(name, (provider, _) =>
        {
            var options = provider.GetRequiredService<IOptions<AwsOptions>>().Value;
            var endpoint = AwsServiceEndpoint.Resolve(name, name, serviceUrl(options), options.Region);
            AwsLog.ClientCreated(Logger(provider), name, endpoint.Region.SystemName, endpoint.RegionSource, endpoint.ServiceUrl);
            return endpoint;
        });
        services.TryAddKeyedSingleton(name, (provider, _) => new AwsResiliencePolicy(name, provider.GetRequiredService<IOptions<AwsOptions>>().Value));

        var version = typeof(AwsServiceCollectionExtensions).Assembly.GetName().Version?.ToString(3) ?? "0";
        var client = services.AddHttpClient(name)
            .ConfigureHttpClient(http =>
            {
                // Attempts have their own timeout; an overall HttpClient timeout would cut retries short.
                http.Timeout = Timeout.InfiniteTimeSpan;
                http.DefaultRequestHeaders.UserAgent.ParseAdd($"batchkeeper/{version}");
            })
            // Innermost: the signer, so that every attempt the pipeline makes is signed afresh. A redirect followed below
            // the signer would go out with a signature for another URL, so the transport follows none.
            .ConfigurePrimaryHttpMessageHandler(provider => new SigV4SigningHandler(
                Credentials(provider),
                provider.GetRequiredKeyedService<AwsServiceEndpoint>(name).Region,
                name,
                new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) }))
            // The clients are singletons holding their HttpClient for good; the pooled connections' lifetime renews DNS.
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            // The factory's own request lines (one per request, at Information) would flood the log; AwsLog says what matters.
            .RemoveAllLoggers();
        client.AddResilienceHandler(name, (pipeline, context) => AwsResiliencePipeline.Configure(
            pipeline,
            context.ServiceProvider.GetRequiredKeyedService<AwsResiliencePolicy>(name),
            context.ServiceProvider.GetRequiredService<TimeProvider>(),
            Logger(context.ServiceProvider),
            context.ServiceProvider.GetService<Metrics.BackendRequests>()));
        client.AddHttpMessageHandler(() => new ResponseBufferingHandler());
    }

    private static ILogger Logger(IServiceProvider provider) =>
        provider.GetRequiredService<ILoggerFactory>().CreateLogger(LogCategory);

    /// <summary>Marks a collection whose AWS clients are registered.</summary>
    private sealed class Marker;
}

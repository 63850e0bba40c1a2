using Batchkeeper.Daemon.Aws.Batch;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Aws;

/// <summary>Registers the AWS clients.</summary>
public static class AwsServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IBatchClient"/> as a singleton (one rate limiter and retry policy for all of
    /// Batch) and <see cref="AwsOptions"/> bound from <c>Batchkeeper:Aws</c>, validated at start-up. The
    /// client, and with it the region lookup, is only created when first asked for, so a host on the local
    /// backend needs no AWS settings.
    /// </summary>
    /// <param name="services">The service collection; an <c>IConfiguration</c> must be registered (every host has one).</param>
    /// <param name="configure">Applied after the configuration is bound, e.g. to set a test endpoint.</param>
    public static IServiceCollection AddBatchClient(this IServiceCollection services, Action<AwsOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<AwsOptions>().BindConfiguration(AwsOptions.SectionName).ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AwsOptions>, AwsOptionsValidator>());
        services.TryAddSingleton<IBatchClient>(provider => new BatchClient(
            provider.GetRequiredService<IOptions<AwsOptions>>().Value,
            provider.GetService<ILoggerFactory>()));
        return services;
    }
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Batchkeeper.Daemon.Metrics;

public static class MetricsServiceCollectionExtensions
{
    /// <summary>
    /// The metrics of <c>/metrics</c> and what records into them, only when the status server serves them
    /// (<paramref name="served"/>, <see cref="Web.WebOptions.Enabled"/>): otherwise none of it exists, and the pass, the
    /// AWS clients, the snapshot and dashboard writers and the webhook sender, which take it as optional, record nothing.
    /// </summary>
    public static IServiceCollection AddDaemonMetrics(this IServiceCollection services, bool served)
    {
        if (!served)
        {
            return services;
        }

        services.TryAddSingleton<RequestRates>();
        services.AddSingleton<DaemonMetrics>();
        services.AddSingleton<BackendRequests>();
        services.AddHostedService<MetricsFeed>();
        return services;
    }
}

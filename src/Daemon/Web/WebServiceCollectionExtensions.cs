using Batchkeeper.Daemon.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Batchkeeper.Daemon.Web;

public static class WebServiceCollectionExtensions
{
    /// <summary>
    /// The request counts the page shows, always (the AWS clients record into them); the status server only when
    /// <paramref name="enabled"/> (<see cref="WebOptions.Enabled"/>).
    /// </summary>
    public static IServiceCollection AddStatusPage(this IServiceCollection services, bool enabled)
    {
        services.TryAddSingleton<RequestRates>();
        if (enabled)
        {
            services.AddSingleton<StatusServer>();
            services.AddHostedService(sp => sp.GetRequiredService<StatusServer>());
        }

        return services;
    }
}

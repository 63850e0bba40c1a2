using Batchkeeper.Daemon.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Systemd;

/// <summary>Registers what systemd sees of the daemon: readiness, STATUS= lines and the watchdog's loop-health rule.</summary>
public static class SystemdServiceCollectionExtensions
{
    public static IServiceCollection AddSystemdIntegration(this IServiceCollection services)
    {
        services.AddSingleton<SystemdNotifier>();
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<BatchkeeperOptions>>().Value;
            return new LoopHealth(sp.GetRequiredService<TimeProvider>())
            {
                PassStallAfter = options.PassStallAfter,
                WatcherStallAfter = Max(TimeSpan.FromMinutes(2), options.RescanInterval * 4),
            };
        });
        services.AddHostedService<SystemdService>();
        return services;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}

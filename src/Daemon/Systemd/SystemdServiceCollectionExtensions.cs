using Batchkeeper.Daemon.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Systemd;

/// <summary>
/// Registers what systemd sees of the daemon: Microsoft.Extensions.Hosting.Systemd's lifetime (READY=1 once the host
/// has started, STOPPING=1 when it stops, SIGTERM) and notifier, plus our own STATUS= lines and the watchdog's
/// loop-health rule, which the library does not have.
/// </summary>
public static class SystemdServiceCollectionExtensions
{
    /// <summary>Registered after the watcher and the schedule: <see cref="FirstScanGate"/> must start after them.</summary>
    public static IServiceCollection AddSystemdIntegration(this IServiceCollection services)
    {
        services.AddSystemd();

        // AddSystemd registers its notifier and lifetime only when the parent process is systemd. The tests (and a
        // supervisor speaking sd_notify that is not systemd) start the daemon with NOTIFY_SOCKET from another parent:
        // give them the same two registrations, since NOTIFY_SOCKET is what the protocol is keyed on.
        if (!SystemdHelpers.IsSystemdService() && Environment.GetEnvironmentVariable("NOTIFY_SOCKET") is { Length: > 0 })
        {
            services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
            services.AddSingleton<IHostLifetime, SystemdLifetime>();
        }

        // Everywhere else a notifier that does nothing (IsEnabled is false without NOTIFY_SOCKET), for ProjectsLock.
        services.TryAddSingleton<ISystemdNotifier, SystemdNotifier>();

        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<BatchkeeperOptions>>().Value;
            return new LoopHealth(sp.GetRequiredService<TimeProvider>())
            {
                PassStallAfter = options.PassStallAfter,
                WatcherStallAfter = Max(TimeSpan.FromMinutes(2), options.RescanInterval * 4),
            };
        });
        services.AddHostedService<FirstScanGate>();
        services.AddHostedService<SystemdStatus>();
        services.AddHostedService<SystemdWatchdog>();
        return services;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}

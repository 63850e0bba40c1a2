using Batchkeeper.Daemon.Aws;
using Batchkeeper.Daemon.Local;
using Batchkeeper.Daemon.Metrics;
using Batchkeeper.Daemon.Notifications;
using Batchkeeper.Daemon.Outputs;
using Batchkeeper.Daemon.Scheduling;
using Batchkeeper.Daemon.Systemd;
using Batchkeeper.Daemon.Web;
using Batchkeeper.Daemon.Workflows;
using Microsoft.Extensions.DependencyInjection;

namespace Batchkeeper.Daemon.Hosting;

/// <summary>The composition root: one call per area, each registered by its own extension beside its code.</summary>
public static class BatchkeeperServiceCollectionExtensions
{
    /// <summary>Registers the daemon's services, with the backend named in the configuration.</summary>
    /// <param name="passConcurrency">Passes run at once (Quartz's thread pool): <see cref="BatchkeeperOptions.PassConcurrency"/>.</param>
    /// <param name="web">Whether the status page is served (<see cref="Web.WebOptions.Enabled"/>).</param>
    /// <param name="notifications">Whether webhooks are configured (<see cref="Notifications.NotificationOptions.Webhooks"/>).</param>
    public static IServiceCollection AddBatchkeeper(this IServiceCollection services, BackendKind backend, int passConcurrency = 16, bool notifications = false, bool web = false)
    {
        services.AddBatchkeeperOptions();
        services.AddSingleton(TimeProvider.System);

        // Started before the lock, but it serves nothing until the lock is settled (held, or waited for as a standby,
        // which blocks every service registered after the lock): a standby's page says that it stands by. Stopped last.
        services.AddStatusPage(web);
        services.AddDaemonMetrics(served: web);

        // Then: nothing else starts before the projects root is this daemon's alone.
        services.AddSingleton<ProjectsLock>();
        services.AddHostedService(sp => sp.GetRequiredService<ProjectsLock>());
        services.AddHostedService<LifecycleLog>();
        services.AddSingleton<ShutdownDeadline>();

        services.AddFileStores();
        services.AddSingleton<LocalOutputStore>();
        if (backend == BackendKind.Aws)
        {
            services.AddAwsBackend();
        }
        else
        {
            services.AddLocalBackend();
        }

        services.AddReconcileLoop(passConcurrency);
        services.AddNotifications(notifications);
        services.AddSystemdIntegration();
        return services;
    }
}

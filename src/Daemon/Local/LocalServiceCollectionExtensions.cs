using Batchkeeper.Core.Ports;
using Batchkeeper.Daemon.Outputs;
using Batchkeeper.Daemon.Reconciliation;
using Microsoft.Extensions.DependencyInjection;

namespace Batchkeeper.Daemon.Local;

/// <summary>Registers the local backend: jobs as processes of this machine, outputs as local files.</summary>
public static class LocalServiceCollectionExtensions
{
    public static IServiceCollection AddLocalBackend(this IServiceCollection services)
    {
        services.AddHostedService<StoppedJobsPasses>();
        services.AddSingleton<LocalJobStore>();
        services.AddSingleton<LocalProcessRunner>();
        services.AddSingleton<LocalJobScheduler>();
        services.AddHostedService(sp => sp.GetRequiredService<LocalJobScheduler>());
        services.AddSingleton<LocalJobBackend>();
        services.AddSingleton<IJobBackend>(sp => sp.GetRequiredService<LocalJobBackend>());
        services.AddSingleton<IOutputStore>(sp => new RoutingOutputStore(sp.GetRequiredService<LocalOutputStore>()));
        return services;
    }
}

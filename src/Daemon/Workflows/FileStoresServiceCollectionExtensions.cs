using Batchkeeper.Core.Ports;
using Batchkeeper.Daemon.Snapshots;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Batchkeeper.Daemon.Workflows;

public static class FileStoresServiceCollectionExtensions
{
    /// <summary>
    /// The state kept in files beside each workflow: the definition and its retry requests (<see cref="IWorkflowSource"/>)
    /// and the snapshot (<see cref="ISnapshotStore"/>). One instance each, shared by the daemon's passes.
    /// </summary>
    public static IServiceCollection AddFileStores(this IServiceCollection services)
    {
        services.TryAddSingleton<FileWorkflowSource>();
        services.TryAddSingleton<IWorkflowSource>(sp => sp.GetRequiredService<FileWorkflowSource>());
        services.TryAddSingleton<FileSnapshotStore>();
        services.TryAddSingleton<ISnapshotStore>(sp => sp.GetRequiredService<FileSnapshotStore>());
        return services;
    }
}

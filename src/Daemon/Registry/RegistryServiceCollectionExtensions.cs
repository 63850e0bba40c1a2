using Microsoft.Extensions.DependencyInjection;

namespace Batchkeeper.Daemon.Registry;

/// <summary>Registers the one registry of managed workflows and its change feed.</summary>
public static class RegistryServiceCollectionExtensions
{
    public static IServiceCollection AddWorkflowRegistry(this IServiceCollection services)
    {
        services.AddSingleton<WorkflowRegistry>();
        services.AddSingleton<IWorkflowChanges>(sp => sp.GetRequiredService<WorkflowRegistry>());
        return services;
    }
}

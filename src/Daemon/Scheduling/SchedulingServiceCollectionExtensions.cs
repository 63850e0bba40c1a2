using Batchkeeper.Core.Reconciliation;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Reconciliation;
using Batchkeeper.Daemon.Snapshots;
using Batchkeeper.Daemon.Watching;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Quartz;

namespace Batchkeeper.Daemon.Scheduling;

/// <summary>Registers the reconcile loop: the watcher, the Quartz schedule, the pass and what reports on it.</summary>
public static class SchedulingServiceCollectionExtensions
{
    public static IServiceCollection AddReconcileLoop(this IServiceCollection services, int passConcurrency)
    {
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<BatchkeeperOptions>>().Value;
            return new ReconcilerOptions
            {
                OutputGracePeriod = options.OutputGracePeriod,
                StuckRunnableAfter = options.StuckRunnableAfter,
                TerminateStuckJobs = options.TerminateStuckJobs,
                LostJobAfter = options.LostJobAfter,
                SubmitParallelism = options.SubmitParallelism,
            };
        });
        services.AddSingleton<WorkflowReconciler>();
        services.AddSingleton<DashboardWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<DashboardWriter>());
        services.AddSingleton<WorkflowPassRunner>();
        services.AddSingleton<WorkflowScheduler>();

        services.AddQuartz(q => q.UseDefaultThreadPool(tp => tp.MaxConcurrency = Math.Clamp(passConcurrency, 1, 256)));
        services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        services.AddTransient<ReconcileJob>();

        services.AddSingleton<ProjectsWatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<ProjectsWatcher>());
        services.AddHostedService<ReloadSignal>();
        services.AddHostedService<JobEventTrigger>();
        return services;
    }
}

using Batchkeeper.Core.Passes;
using Batchkeeper.Core.Reconciliation;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Outputs;
using Batchkeeper.Daemon.Reconciliation;
using Batchkeeper.Daemon.Registry;
using Batchkeeper.Daemon.Snapshots;
using Batchkeeper.Daemon.Watching;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Quartz;

namespace Batchkeeper.Daemon.Scheduling;

/// <summary>
/// Registers the reconcile loop: the registry and its feed, the watcher, the Quartz schedule, the pass and what reports
/// on it. The feed's readers (the dashboard, the scheduler) start before the watcher, so the first scan's workflows are
/// scheduled before the watcher says the scan is done.
/// </summary>
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
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<BatchkeeperOptions>>().Value;
            return new WorkflowPassSettings(options.SettleTime, options.ReconcileInterval, options.Retry.ToLimits())
            {
                ShutdownGrace = options.ShutdownGrace,
                BackendCheck = (workflow, file) => BackendOutputs.Unsupported(workflow, options.Backend, file),
            };
        });
        services.AddSingleton<WorkflowPass>();
        services.AddWorkflowRegistry();
        services.AddSingleton<DashboardWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<DashboardWriter>());
        services.AddSingleton<WorkflowPassRunner>();

        services.AddQuartz(q => q.UseDefaultThreadPool(tp => tp.MaxConcurrency = Math.Clamp(passConcurrency, 1, 256)));
        services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        services.AddTransient<ReconcileJob>();
        services.AddSingleton<WorkflowScheduler>();
        services.AddHostedService(sp => sp.GetRequiredService<WorkflowScheduler>());

        services.AddSingleton<ProjectsWatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<ProjectsWatcher>());
        services.AddHostedService<ReloadSignal>();
        services.AddHostedService<JobEventTrigger>();
        return services;
    }
}

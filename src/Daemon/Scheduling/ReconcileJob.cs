using Batchkeeper.Core.Passes;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Reconciliation;
using Batchkeeper.Daemon.Registry;
using Batchkeeper.Daemon.Watching;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Quartz;

namespace Batchkeeper.Daemon.Scheduling;

/// <summary>
/// The Quartz job behind every workflow file: one pass. Quartz never runs two passes of one workflow at
/// once (<see cref="DisallowConcurrentExecutionAttribute"/>); a trigger that fires during a pass waits for it.
/// </summary>
[DisallowConcurrentExecution]
public sealed class ReconcileJob(
    WorkflowPassRunner runner, WorkflowRegistry registry, WorkflowScheduler scheduler, IOptions<BatchkeeperOptions> options, ILogger<ReconcileJob> logger) : IJob
{
    public const string PathKey = "path";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var path = context.MergedJobDataMap.GetString(PathKey)!;
        var outcome = await runner.RunAsync(path, cancellationToken);
        // Which trigger ran this pass (a schedule, a change, SIGHUP, a job's end): one line per pass, at Debug.
        Log.PassEnded(logger, WorkflowFiles.ProjectOf(path), Path.GetFileName(path), Core.Logging.Readable.PreciseTime(context.ScheduledFireTimeUtc ?? context.FireTimeUtc), outcome);
        switch (outcome)
        {
            case PassOutcome.ReadAgainSoon:
                await scheduler.TriggerLaterAsync(path, options.Value.SettleTime, cancellationToken);
                break;
            case PassOutcome.Gone:
                // The feed takes it from here: the scheduler deletes this job, the dashboard drops the row.
                registry.Remove(path);
                break;
        }
    }
}

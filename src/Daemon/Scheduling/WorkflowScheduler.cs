using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Reconciliation;
using Batchkeeper.Daemon.Watching;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Quartz;

namespace Batchkeeper.Daemon.Scheduling;

/// <summary>
/// One Quartz job per workflow file, repeating every <see cref="BatchkeeperOptions.ReconcileInterval"/>,
/// with an immediate pass whenever its file changes.
/// </summary>
public sealed class WorkflowScheduler(
    ISchedulerFactory schedulerFactory,
    WorkflowPassRunner runner,
    IOptions<BatchkeeperOptions> options,
    TimeProvider clock,
    ILogger<WorkflowScheduler> logger)
{
    private const string Group = "workflows";

    private static JobKey KeyFor(string path) => new(path, Group);

    /// <summary>Starts managing a workflow file (if it is new) and runs a pass now.</summary>
    public async Task AddOrTriggerAsync(string path, CancellationToken cancellationToken)
    {
        var scheduler = await schedulerFactory.GetScheduler(cancellationToken);
        var key = KeyFor(path);
        if (await scheduler.Exists(key, cancellationToken))
        {
            Log.WorkflowChanged(logger, WorkflowFiles.ProjectOf(path), Path.GetFileName(path));
            await scheduler.TriggerJob(key, cancellationToken);
            return;
        }

        var job = JobBuilder.Create<ReconcileJob>()
            .WithIdentity(key)
            .UsingJobData(ReconcileJob.PathKey, path)
            .Build();
        await scheduler.ScheduleJob(job, RepeatingTrigger(key, options.Value.ReconcileInterval), default, cancellationToken);
        Log.WorkflowAdded(logger, WorkflowFiles.ProjectOf(path), Path.GetFileName(path));
    }

    /// <summary>
    /// A workflow's schedule: a pass now, then one every <paramref name="interval"/>. A pass that could not start on
    /// time (every thread busy with other passes for longer than Quartz's misfire threshold, 5 s) runs as soon as a
    /// thread is free, and the schedule goes on from there: skipping to the next interval instead would leave a newly
    /// added workflow unreconciled for a whole interval whenever many workflows arrive at once.
    /// </summary>
    internal static ITrigger RepeatingTrigger(JobKey key, TimeSpan interval) =>
        TriggerBuilder.Create()
            .ForJob(key)
            .StartNow()
            .WithSimpleSchedule(s => s
                .WithInterval(interval)
                .RepeatForever()
                .WithMisfireInstruction(SimpleTriggerMisfireInstruction.NowWithExistingCount))
            .Build();

    /// <summary>Runs a pass now if the workflow is managed; does nothing for a file that is no longer.</summary>
    public async Task TriggerIfManagedAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            var scheduler = await schedulerFactory.GetScheduler(cancellationToken);
            if (await scheduler.Exists(KeyFor(path), cancellationToken))
            {
                await scheduler.TriggerJob(KeyFor(path), cancellationToken);
            }
        }
        catch (SchedulerException e)
        {
            Log.ScheduleFailed(logger, path, e.Message, e);
        }
    }

    /// <summary>Runs one more pass after <paramref name="delay"/>, besides the regular schedule.</summary>
    public async Task TriggerLaterAsync(string path, TimeSpan delay, CancellationToken cancellationToken)
    {
        var scheduler = await schedulerFactory.GetScheduler(cancellationToken);
        var trigger = TriggerBuilder.Create()
            .ForJob(KeyFor(path))
            .StartAt(clock.GetUtcNow() + delay)
            .Build();
        await scheduler.ScheduleJob(trigger, default, cancellationToken);
    }

    /// <summary>Stops managing a workflow file. Its jobs are left as they are.</summary>
    public async Task RemoveAsync(string path, CancellationToken cancellationToken)
    {
        var scheduler = await schedulerFactory.GetScheduler(cancellationToken);
        if (await scheduler.DeleteJob(KeyFor(path), cancellationToken))
        {
            Log.WorkflowRemoved(logger, WorkflowFiles.ProjectOf(path), Path.GetFileName(path));
        }

        runner.Forget(path);
    }

    /// <summary>The workflow files currently scheduled.</summary>
    public async Task<IReadOnlyCollection<string>> ScheduledAsync(CancellationToken cancellationToken)
    {
        var scheduler = await schedulerFactory.GetScheduler(cancellationToken);
        var keys = await scheduler.GetJobKeys(GroupMatcher<JobKey>.GroupEquals(Group), cancellationToken);
        return keys.Select(k => k.Name).ToArray();
    }
}

using System.Threading.Channels;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Registry;
using Batchkeeper.Daemon.Watching;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Quartz;

namespace Batchkeeper.Daemon.Scheduling;

/// <summary>
/// One Quartz job per managed workflow, repeating every <see cref="BatchkeeperOptions.ReconcileInterval"/>: it reads
/// the registry's change feed, and makes the job on <see cref="WorkflowAdded"/> (whose first pass runs at once) and
/// deletes it on <see cref="WorkflowRemoved"/>; on <see cref="PassCompleted"/> it schedules one more pass when a retry
/// falls due before the next one. The watcher asks it for an immediate pass whenever a file changes.
/// </summary>
public sealed class WorkflowScheduler : BackgroundService
{
    private const string Group = "workflows";

    private readonly ISchedulerFactory _schedulerFactory;
    private readonly WorkflowRegistry _registry;
    private readonly IOptions<BatchkeeperOptions> _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<WorkflowScheduler> _logger;
    private readonly ChannelReader<WorkflowChange> _changes;
    private readonly Lock _progressLock = new();
    private readonly List<(long Sequence, TaskCompletionSource Done)> _waiters = [];
    private long _processed;

    public WorkflowScheduler(
        ISchedulerFactory schedulerFactory, WorkflowRegistry registry, IOptions<BatchkeeperOptions> options, TimeProvider clock, ILogger<WorkflowScheduler> logger)
    {
        _schedulerFactory = schedulerFactory;
        _registry = registry;
        _options = options;
        _clock = clock;
        _logger = logger;

        // From construction on, so nothing added before the loop starts is missed (the replay would bring it anyway).
        _changes = registry.Subscribe(CancellationToken.None);
    }

    private static JobKey KeyFor(string path) => new(path, Group);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var change in _changes.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await ApplyAsync(change, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Log.ScheduleFailed(_logger, change.Path, e.Message, e);
                }

                Processed(change.Sequence);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Clean stop.
        }
    }

    private async Task ApplyAsync(WorkflowChange change, CancellationToken cancellationToken)
    {
        switch (change)
        {
            case WorkflowAdded:
            {
                var scheduler = await _schedulerFactory.GetScheduler(cancellationToken);
                var key = KeyFor(change.Path);
                var job = JobBuilder.Create<ReconcileJob>()
                    .WithIdentity(key)
                    .UsingJobData(ReconcileJob.PathKey, change.Path)
                    .Build();
                await scheduler.ScheduleJob(job, RepeatingTrigger(key, _options.Value.ReconcileInterval), default, cancellationToken);
                Log.WorkflowAdded(_logger, WorkflowFiles.ProjectOf(change.Path), Path.GetFileName(change.Path));
                break;
            }

            case PassCompleted completed:
                await WakeWhenDueAsync(completed, cancellationToken);
                break;

            case WorkflowRemoved:
            {
                var scheduler = await _schedulerFactory.GetScheduler(cancellationToken);
                if (await scheduler.DeleteJob(KeyFor(change.Path), cancellationToken))
                {
                    Log.WorkflowRemoved(_logger, WorkflowFiles.ProjectOf(change.Path), Path.GetFileName(change.Path));
                }

                break;
            }
        }
    }

    /// <summary>
    /// A pass left slots <c>retrying</c>, or <c>verifying</c> (a job SUCCEEDED, its outputs not there yet): one more pass
    /// of the workflow at the earliest <c>next_attempt_at</c> or end of an output grace period, besides the regular
    /// schedule, so that a 5 s backoff is 5 s and a job that wrote nothing is <c>succeeded_without_outputs</c> when its
    /// grace ends, not the rest of <see cref="BatchkeeperOptions.ReconcileInterval"/> later. One such trigger per
    /// workflow, moved or removed as each pass changes the earliest time; a time already past is left to the schedule
    /// (its pass could not act on it, e.g. the backend is failing, and asking again at once would spin).
    /// </summary>
    private async Task WakeWhenDueAsync(PassCompleted completed, CancellationToken cancellationToken)
    {
        DateTimeOffset? due = null;
        var grace = _options.Value.OutputGracePeriod;
        foreach (var slot in completed.Snapshot.Slots)
        {
            var at = slot switch
            {
                { State: Core.Snapshots.SlotState.Retrying, NextAttemptAt: { } next } => next,
                { State: Core.Snapshots.SlotState.Verifying, StoppedAt: { } stopped } => stopped + grace,
                _ => (DateTimeOffset?)null,
            };
            if (at is not null && (due is null || at < due))
            {
                due = at;
            }
        }

        var scheduler = await _schedulerFactory.GetScheduler(cancellationToken);
        var key = RetryTriggerKey(completed.Path);
        var existing = await scheduler.GetTrigger(key, cancellationToken);
        if (due is not { } time || time <= _clock.GetUtcNow())
        {
            if (existing is not null)
            {
                await scheduler.UnscheduleJob(key, cancellationToken);
            }

            return;
        }

        if (existing?.StartTimeUtc == time || !await scheduler.Exists(KeyFor(completed.Path), cancellationToken))
        {
            return;
        }

        var trigger = TriggerBuilder.Create().WithIdentity(key).ForJob(KeyFor(completed.Path)).StartAt(time).Build();
        if (existing is null)
        {
            await scheduler.ScheduleJob(trigger, default, cancellationToken);
        }
        else
        {
            await scheduler.RescheduleJob(key, trigger, cancellationToken);
        }

        Log.RetryPassScheduled(_logger, WorkflowFiles.ProjectOf(completed.Path), Path.GetFileName(completed.Path), Core.Logging.Readable.Time(time));
    }

    /// <summary>The trigger of a workflow's pass at its earliest retry or grace end (see <see cref="WakeWhenDueAsync"/>).</summary>
    internal static TriggerKey RetryTriggerKey(string path) => new(path + "#retry", Group);

    /// <summary>Completes once every change up to <paramref name="sequence"/> has been applied to the Quartz schedule.</summary>
    public Task ProcessedThroughAsync(long sequence, CancellationToken cancellationToken)
    {
        lock (_progressLock)
        {
            if (_processed >= sequence)
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((sequence, done));
            return done.Task.WaitAsync(cancellationToken);
        }
    }

    private void Processed(long sequence)
    {
        lock (_progressLock)
        {
            _processed = Math.Max(_processed, sequence);
            foreach (var waiter in _waiters.Where(w => w.Sequence <= _processed).ToArray())
            {
                _waiters.Remove(waiter);
                waiter.Done.TrySetResult();
            }
        }
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

    /// <summary>
    /// A managed workflow's file changed: runs a pass now. Nothing to do when its job is not made yet (its first pass,
    /// still to come, reads the file as it is now) or no longer exists.
    /// </summary>
    public async Task TriggerNowAsync(string path, CancellationToken cancellationToken)
    {
        var scheduler = await _schedulerFactory.GetScheduler(cancellationToken);
        if (await scheduler.Exists(KeyFor(path), cancellationToken))
        {
            Log.WorkflowChanged(_logger, WorkflowFiles.ProjectOf(path), Path.GetFileName(path));
            await scheduler.TriggerJob(KeyFor(path), cancellationToken);
        }
    }

    /// <summary>Runs a pass now if the workflow is managed; does nothing for a file that is no longer.</summary>
    public async Task TriggerIfManagedAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            if (!_registry.IsManaged(path))
            {
                return;
            }

            var scheduler = await _schedulerFactory.GetScheduler(cancellationToken);
            if (await scheduler.Exists(KeyFor(path), cancellationToken))
            {
                await scheduler.TriggerJob(KeyFor(path), cancellationToken);
            }
        }
        catch (SchedulerException e)
        {
            Log.ScheduleFailed(_logger, path, e.Message, e);
        }
    }

    /// <summary>Runs one more pass after <paramref name="delay"/>, besides the regular schedule.</summary>
    public async Task TriggerLaterAsync(string path, TimeSpan delay, CancellationToken cancellationToken)
    {
        var scheduler = await _schedulerFactory.GetScheduler(cancellationToken);
        var trigger = TriggerBuilder.Create()
            .ForJob(KeyFor(path))
            .StartAt(_clock.GetUtcNow() + delay)
            .Build();
        await scheduler.ScheduleJob(trigger, default, cancellationToken);
    }
}

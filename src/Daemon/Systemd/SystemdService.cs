using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Reconciliation;
using Batchkeeper.Daemon.Watching;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Batchkeeper.Daemon.Systemd;

/// <summary>
/// Tells systemd how the daemon is: <c>READY=1</c> once the first scan of the projects folder is done,
/// <c>STATUS=…</c> with counts after passes (at most once a second), <c>WATCHDOG=1</c> at half of
/// <c>WATCHDOG_USEC</c> while <see cref="LoopHealth"/> says the loop is alive, and <c>STOPPING=1</c> when asked to stop.
/// </summary>
public sealed class SystemdService(
    SystemdNotifier notifier,
    LoopHealth health,
    ProjectsWatcher watcher,
    WorkflowPassRunner runner,
    IHostApplicationLifetime lifetime,
    TimeProvider clock,
    ILogger<SystemdService> logger) : BackgroundService
{
    private int _statusDirty;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!notifier.IsEnabled)
        {
            return;
        }

        lifetime.ApplicationStopping.Register(() => notifier.Notify("STOPPING=1\nSTATUS=Stopping: finishing the passes in flight"));
        runner.PassCompleted += () => Interlocked.Exchange(ref _statusDirty, 1);

        try
        {
            await watcher.FirstScanDone.WaitAsync(stoppingToken);
            notifier.Notify($"READY=1\nSTATUS={Status()}");
            Log.SystemdReady(logger);

            var watchdog = WatchdogInterval();
            var tick = watchdog is { } w && w < TimeSpan.FromSeconds(1) ? w : TimeSpan.FromSeconds(1);
            var nextPing = clock.GetUtcNow();
            var wasHealthy = true;
            while (!stoppingToken.IsCancellationRequested)
            {
                if (Interlocked.Exchange(ref _statusDirty, 0) == 1)
                {
                    notifier.Notify($"STATUS={Status()}");
                }

                if (watchdog is { } interval && clock.GetUtcNow() >= nextPing)
                {
                    var problem = health.Problem();
                    if (problem is null)
                    {
                        notifier.Notify("WATCHDOG=1");
                        if (!wasHealthy)
                        {
                            Log.LoopRecovered(logger);
                        }
                    }
                    else if (wasHealthy)
                    {
                        Log.LoopHung(logger, problem);
                    }

                    wasHealthy = problem is null;
                    nextPing = clock.GetUtcNow() + interval;
                }

                await Task.Delay(tick, clock, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Clean stop.
        }
    }

    /// <summary>Half of <c>WATCHDOG_USEC</c>, if the watchdog is on for this process (<c>WATCHDOG_PID</c> unset or ours).</summary>
    internal static TimeSpan? WatchdogInterval()
    {
        var usec = Environment.GetEnvironmentVariable("WATCHDOG_USEC");
        var pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        if (!long.TryParse(usec, out var microseconds) || microseconds <= 0
            || (pid is not null && pid != Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)))
        {
            return null;
        }

        return TimeSpan.FromMicroseconds(microseconds / 2.0);
    }

    private string Status()
    {
        var snapshots = runner.All();
        var total = new SnapshotSummary();
        foreach (var s in snapshots.Select(s => s.Summary))
        {
            total.Total += s.Total;
            total.Complete += s.Complete;
            total.Running += s.Running;
            total.Queued += s.Queued;
            total.Failed += s.Failed;
            total.Blocked += s.Blocked;
        }

        var errors = snapshots.Count(s => s.Errors.Count > 0);
        return $"{snapshots.Count} workflows, {total.Complete}/{total.Total} slots complete, {total.Running} running, " +
               $"{total.Queued} queued, {total.Failed} failed, {total.Blocked} blocked; {errors} workflows with errors";
    }
}

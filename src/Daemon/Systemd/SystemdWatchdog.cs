using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace Batchkeeper.Daemon.Systemd;

/// <summary>
/// systemd's watchdog, which Microsoft.Extensions.Hosting.Systemd does not feed: from the host's start on,
/// <c>WATCHDOG=1</c> at half of <c>WATCHDOG_USEC</c>, but only while <see cref="LoopHealth"/> says the reconcile loop
/// is alive, so a hung loop gets the service restarted. The change of state is logged once each way.
/// </summary>
public sealed class SystemdWatchdog(
    ISystemdNotifier notifier,
    LoopHealth health,
    IHostApplicationLifetime lifetime,
    TimeProvider clock,
    ILogger<SystemdWatchdog> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!notifier.IsEnabled || WatchdogInterval() is not { } interval)
        {
            return;
        }

        try
        {
            await SystemdStatus.Started(lifetime).WaitAsync(stoppingToken);
            var wasHealthy = true;
            while (!stoppingToken.IsCancellationRequested)
            {
                var problem = health.Problem();
                if (problem is null)
                {
                    SystemdStatus.Send(notifier, "WATCHDOG=1");
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
                await Task.Delay(interval, clock, stoppingToken);
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
}

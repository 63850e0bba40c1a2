using System.Net.Sockets;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Registry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace Batchkeeper.Daemon.Systemd;

/// <summary>
/// systemd's STATUS= line: the counts of every managed workflow, once the host has started (READY=1 is the library's
/// lifetime's), then after changes on the feed (passes, workflows added or removed) at most once a second; on
/// stopping, its own datagram saying so (the lifetime sends STOPPING=1 alone).
/// </summary>
public sealed class SystemdStatus(
    ISystemdNotifier notifier,
    IWorkflowChanges changes,
    IHostApplicationLifetime lifetime,
    TimeProvider clock,
    ILogger<SystemdStatus> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!notifier.IsEnabled)
        {
            return;
        }

        // Subscribed before the host has started, so that no change between READY and the first line is missed.
        var feed = changes.Subscribe(stoppingToken);
        try
        {
            await Started(lifetime).WaitAsync(stoppingToken);
            lifetime.ApplicationStopping.Register(() => Send(notifier, "STATUS=Stopping: finishing the passes in flight"));
            Drain(feed);
            Send(notifier, $"STATUS={Status()}");
            Log.SystemdReady(logger);
            while (await feed.WaitToReadAsync(stoppingToken))
            {
                Drain(feed);
                Send(notifier, $"STATUS={Status()}");
                await Task.Delay(TimeSpan.FromSeconds(1), clock, stoppingToken); // at most one line a second
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Clean stop.
        }
    }

    /// <summary>Completes when the host has started (every StartAsync returned, the first scan done).</summary>
    internal static Task Started(IHostApplicationLifetime lifetime)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        return started.Task;
    }

    /// <summary>
    /// One datagram, best effort: the library's notifier lets a socket error out (systemd gone, socket removed), and a
    /// lost STATUS= or WATCHDOG=1 must not stop the daemon.
    /// </summary>
    internal static void Send(ISystemdNotifier notifier, string state)
    {
        try
        {
            notifier.Notify(new ServiceState(state));
        }
        catch (SocketException)
        {
            // Nothing useful to do: systemd went away.
        }
    }

    private static void Drain(System.Threading.Channels.ChannelReader<WorkflowChange> feed)
    {
        while (feed.TryRead(out _))
        {
        }
    }

    private string Status()
    {
        var snapshots = changes.Snapshots;
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

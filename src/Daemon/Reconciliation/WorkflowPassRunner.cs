using System.Diagnostics;
using Batchkeeper.Core.Passes;
using Batchkeeper.Daemon.Metrics;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Registry;
using Batchkeeper.Daemon.Watching;
using Microsoft.Extensions.Hosting;

namespace Batchkeeper.Daemon.Reconciliation;

/// <summary>
/// Runs the Core's <see cref="WorkflowPass"/> for one managed workflow file and publishes what it wrote, with the
/// pass's slot transitions, on the registry's change feed. What the pass decides (the last good definition, the plan,
/// half-written files, errors, snapshot writes) is the Core's; this class only joins it to the daemon: the registry
/// that owns the workflow's memory, the loop's health, and the daemon's stop.
/// </summary>
public sealed class WorkflowPassRunner(
    WorkflowPass pass,
    WorkflowRegistry registry,
    Systemd.LoopHealth health,
    IHostApplicationLifetime lifetime,
    ShutdownDeadline? shutdown = null,
    DaemonMetrics? metrics = null)
{
    /// <summary>One pass over the workflow file at <paramref name="path"/>.</summary>
    public async Task<PassOutcome> RunAsync(string path, CancellationToken cancellationToken)
    {
        using var running = health.PassStarted(path);

        // A pass for a workflow no longer managed (removed while this trigger waited) has nothing to do.
        if (registry.Get(path) is not { } managed)
        {
            return PassOutcome.Gone;
        }

        var stop = new StopSignals(lifetime.ApplicationStopping, shutdown?.Token ?? CancellationToken.None);
        var started = Stopwatch.GetTimestamp();
        PassReport report;
        try
        {
            report = await pass.RunAsync(WorkflowFiles.LocationOf(path), managed.Memory<WorkflowMemory>(), stop, cancellationToken);
        }
        catch (Exception e) when (metrics is not null && !(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            // Counted, then left to Quartz as before (the pass catches its workflow's problems itself: this is a bug's way out).
            metrics.PassThrew(Stopwatch.GetElapsedTime(started));
            throw;
        }

        // Counters only, on the pass's thread: the per-workflow series come from the feed.
        var took = Stopwatch.GetElapsedTime(started);
        metrics?.PassEnded(report, took);
        if (report.Snapshot is { } snapshot)
        {
            registry.Publish(managed, snapshot, report.Transitions, took, report.SnapshotNotWritten);
        }

        return report.Outcome;
    }
}

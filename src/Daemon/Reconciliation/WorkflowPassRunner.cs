using Batchkeeper.Core.Passes;
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
    TimeProvider clock,
    ShutdownDeadline? shutdown = null)
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
        var started = clock.GetTimestamp();
        var report = await pass.RunAsync(WorkflowFiles.LocationOf(path), managed.Memory<WorkflowMemory>(), stop, cancellationToken);
        if (report.Snapshot is { } snapshot)
        {
            registry.Publish(managed, snapshot, report.Transitions, clock.GetElapsedTime(started));
        }

        return report.Outcome;
    }
}

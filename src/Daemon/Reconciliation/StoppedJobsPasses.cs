using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Registry;
using Batchkeeper.Daemon.Snapshots;
using Microsoft.Extensions.Hosting;

namespace Batchkeeper.Daemon.Reconciliation;

/// <summary>
/// The local backend stops its running jobs when the daemon stops, after the last scheduled passes: without one more
/// pass, their snapshots would still say <c>running</c> for jobs the daemon itself killed. Registered just before the
/// local backend, so it stops just after it (hosted services stop in reverse order): each workflow that had a job
/// running gets one more pass, which submits nothing (the daemon is stopping), and reads those jobs as interrupted.
/// </summary>
public sealed class StoppedJobsPasses(WorkflowPassRunner runner, WorkflowRegistry registry, DashboardWriter dashboard) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var paths = registry.PathsWhere(s => s.Slots.Any(slot => slot.State is SlotState.Running or SlotState.Verifying));
        foreach (var path in paths)
        {
            await runner.RunAsync(path, CancellationToken.None);
        }

        if (paths.Count > 0)
        {
            await dashboard.WriteAsync(CancellationToken.None);
        }
    }
}

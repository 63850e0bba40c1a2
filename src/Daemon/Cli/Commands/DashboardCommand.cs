using Batchkeeper.Daemon.Snapshots;
using Batchkeeper.Daemon.Watching;

namespace Batchkeeper.Daemon.Cli.Commands;

/// <summary><c>dashboard</c>: one row per workflow across all projects.</summary>
internal sealed class DashboardCommand(CliContext context)
{
    /// <summary><c>dashboard</c>: one row per workflow, from every snapshot under the projects root.</summary>
    public async Task<int> DashboardAsync(CancellationToken cancellationToken)
    {
        var root = context.ProjectsRoot;
        if (!Directory.Exists(root))
        {
            return context.Fail(ExitCodes.Usage, $"{root}: no such projects folder");
        }

        context.Output.WriteLine($"{"workflow",-40} {"complete",10} {"running",8} {"queued",7} {"failed",7} {"errors",7}  age");
        var stale = 0;
        foreach (var path in WorkflowFiles.Scan(root).Order(StringComparer.Ordinal))
        {
            var snapshot = await FileSnapshotStore.LoadAsync(path, cancellationToken);
            var name = Path.GetRelativePath(root, path);
            if (snapshot is null)
            {
                context.Output.WriteLine($"{name,-40} not reconciled yet: is the daemon running?");
                stale++;
                continue;
            }

            var s = snapshot.Summary;
            var late = context.Clock.GetUtcNow() - (snapshot.NextReconcileAt ?? snapshot.ReconciledAt) > TimeSpan.FromMinutes(1);
            stale += late ? 1 : 0;
            context.Output.WriteLine($"{name,-40} {$"{s.Complete}/{s.Total}",10} {s.Running,8} {s.Queued,7} {s.Failed,7} {snapshot.Errors.Count,7}  {context.Age(snapshot.ReconciledAt)}{(late ? "  stale: is the daemon running?" : "")}");
        }

        return stale > 0 ? ExitCodes.NotOk : ExitCodes.Ok;
    }

}

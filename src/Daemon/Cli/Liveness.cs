using Batchkeeper.Core.Logging;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Files;
using Batchkeeper.Daemon.Snapshots;

namespace Batchkeeper.Daemon.Cli;

/// <summary>What the daemon of a projects root is doing, as its heartbeat (<c>dashboard.json</c>) tells.</summary>
internal enum DaemonState
{
    /// <summary>It wrote its heartbeat when it promised to.</summary>
    Live,

    /// <summary>It stopped cleanly, and said when.</summary>
    Stopped,

    /// <summary>It promised a heartbeat and none came: killed, crashed, or its loop is hung.</summary>
    Silent,

    /// <summary>No heartbeat to go by (no dashboard, or one from a daemon older than the heartbeat): each snapshot's age decides.</summary>
    Unknown,
}

/// <summary>
/// Whether the daemon is alive, from its heartbeat rather than from a snapshot's age: snapshots are rewritten only when
/// their content changes, so a quiet workflow's file may be hours old under a running daemon. Without a heartbeat the
/// old rule stays: a snapshot whose next pass is more than a minute overdue is stale.
/// </summary>
internal sealed record Liveness(DaemonState State, Dashboard? Dashboard, DateTimeOffset Now)
{
    /// <summary>How overdue a pass (or, for the heartbeat, a write) may be before it is said to be late.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromMinutes(1);

    /// <summary>The least a heartbeat may be late, whatever its interval (a busy machine delays a write by a few seconds).</summary>
    private static readonly TimeSpan LeastHeartbeatGrace = TimeSpan.FromSeconds(5);

    public static async Task<Liveness> ReadAsync(string projectsRoot, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var dashboard = await Dashboard.ReadAsync(projectsRoot, cancellationToken);
        var state = dashboard switch
        {
            { StoppedAt: not null } => DaemonState.Stopped,
            { NextWriteBy: { } promised } when now > promised + HeartbeatGrace(promised - dashboard.WrittenAt) => DaemonState.Silent,
            { NextWriteBy: not null } => DaemonState.Live,
            _ => DaemonState.Unknown,
        };
        return new Liveness(state, dashboard, now);
    }

    /// <summary>
    /// The liveness of the daemon of the projects root a workflow file is in (its folder's parent: whatever root the
    /// command was given), and what it says of that workflow (<see cref="Of"/>). The folder is taken by its real path:
    /// the daemon names a project reached through a link by its real path, and a link to a project from outside the
    /// root has no dashboard beside it.
    /// </summary>
    public static async Task<(Liveness Liveness, DateTimeOffset LastPass, string? Note)> OfWorkflowAsync(
        string workflowPath, WorkflowSnapshot snapshot, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(workflowPath);
        var folder = Path.GetDirectoryName(path)!;
        path = Path.Combine(ProjectFile.RealPath(folder) ?? folder, Path.GetFileName(path));
        var root = Path.GetDirectoryName(Path.GetDirectoryName(path))!;
        var liveness = await ReadAsync(root, now, cancellationToken);
        var (lastPass, note) = liveness.Of(snapshot, Path.GetRelativePath(root, path));
        return (liveness, lastPass, note);
    }

    /// <summary>One more heartbeat interval, at least <see cref="LeastHeartbeatGrace"/>: one missed write is not yet a dead daemon.</summary>
    private static TimeSpan HeartbeatGrace(TimeSpan interval) => interval > LeastHeartbeatGrace ? interval : LeastHeartbeatGrace;

    /// <summary>The daemon's state in words, or null while it is live (or nothing tells).</summary>
    public string? Said => State switch
    {
        DaemonState.Stopped => $"daemon stopped at {Readable.Time(Dashboard!.StoppedAt!.Value)} ({CliFormat.Age(Dashboard.StoppedAt.Value, Now)} ago): nothing is reconciled until it runs again",
        DaemonState.Silent => $"stale: the daemon has not been heard from since {Readable.Time(Dashboard!.WrittenAt)} ({CliFormat.Age(Dashboard.WrittenAt, Now)} ago): is it running?",
        _ => null,
    };

    /// <summary>
    /// A workflow as the daemon last passed it: when (its dashboard row, else the snapshot's own time) and, when that
    /// is not as it should be, a note saying why; null while all is well, and for a stopped daemon, which
    /// <see cref="Said"/> tells once for every workflow.
    /// </summary>
    /// <param name="file">The workflow file relative to the projects root, as the dashboard names it.</param>
    public (DateTimeOffset LastPass, string? Note) Of(WorkflowSnapshot snapshot, string file)
    {
        var row = Dashboard?.Workflows.FirstOrDefault(r => r.File == file);
        var lastPass = row?.ReconciledAt ?? snapshot.ReconciledAt;
        var note = State switch
        {
            DaemonState.Silent => "stale: is the daemon running?",
            DaemonState.Live when row is null => "not reconciled by the running daemon yet",
            DaemonState.Live when Now - (row.NextReconcileAt ?? row.ReconciledAt) > Grace => $"late: no pass for {CliFormat.Age(row.ReconciledAt, Now)}",
            DaemonState.Unknown when Now - (snapshot.NextReconcileAt ?? snapshot.ReconciledAt) > Grace => "stale: is the daemon running?",
            _ => null,
        };
        return (lastPass, note);
    }
}

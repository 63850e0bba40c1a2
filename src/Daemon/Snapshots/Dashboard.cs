using System.Text.Json;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Daemon.Snapshots;

/// <summary>One row of <c>dashboard.json</c>: a workflow's progress at a glance, as of its last pass.</summary>
/// <param name="ReconciledAt">When the workflow's last pass began (its snapshot file says when its content last changed).</param>
/// <param name="PassSeconds">How long that pass took.</param>
public sealed record DashboardRow(
    string Project,
    string? Workflow,
    string File,
    string Backend,
    SnapshotSummary Summary,
    int Errors,
    string? FirstError,
    DateTimeOffset ReconciledAt,
    DateTimeOffset? NextReconcileAt,
    double? PassSeconds = null);

/// <summary>
/// The whole dashboard, as written to <c>projects/dashboard.json</c>. It is also the daemon's heartbeat: written after
/// passes and at least every <see cref="DashboardWriter.HeartbeatInterval"/>, so its <see cref="WrittenAt"/> tells a
/// running daemon from a stopped one even when no snapshot changes.
/// </summary>
/// <param name="NextWriteBy">When the daemon writes the file again at the latest; null once it stopped (or from a daemon
/// older than the heartbeat).</param>
/// <param name="StoppedAt">When the daemon stopped cleanly, writing this file last; null while it runs, and after a kill.</param>
public sealed record Dashboard(
    string Schema,
    DateTimeOffset WrittenAt,
    DateTimeOffset? NextWriteBy,
    DateTimeOffset? StoppedAt,
    IReadOnlyList<DashboardRow> Workflows)
{
    public const string SchemaName = "batchkeeper.dashboard/1";

    /// <summary>The dashboard of a projects root, or null when there is none or it cannot be read (for the CLI).</summary>
    public static async Task<Dashboard?> ReadAsync(string projectsRoot, CancellationToken cancellationToken)
    {
        var path = Path.Combine(projectsRoot, Watching.WorkflowFiles.Dashboard);
        try
        {
            // The daemon's one rule for reading files, as for snapshots: no link out of the root, no FIFO or device.
            var bytes = await Files.ProjectFile.ReadAsync(path, projectsRoot, Watching.WorkflowFiles.Dashboard, Files.ProjectFile.MaxInputBytes, cancellationToken);
            var dashboard = JsonSerializer.Deserialize<Dashboard>(bytes, SnapshotJson.Options);
            return dashboard?.Schema == SchemaName ? dashboard : null;
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException or Core.Workflows.InputException)
        {
            return null;
        }
    }
}

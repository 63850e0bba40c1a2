using Batchkeeper.Daemon.Snapshots;
using Batchkeeper.Daemon.Watching;
using Spectre.Console;

namespace Batchkeeper.Daemon.Cli.Commands;

/// <summary><c>dashboard</c>: one row per workflow across all projects.</summary>
internal sealed class DashboardCommand(CliContext context)
{
    /// <summary>
    /// <c>dashboard</c>: one row per workflow, from every snapshot under the projects root, with every count that needs a
    /// person (retrying, failed, blocked, invalid, errors) and a note for a cancelled workflow or a stale snapshot. Exit 1
    /// when any row needs attention, as <c>status</c> exits 1 for one workflow.
    /// </summary>
    public async Task<int> DashboardAsync(CancellationToken cancellationToken)
    {
        var root = context.ProjectsRoot;
        if (!Directory.Exists(root))
        {
            return context.Fail(ExitCodes.Usage, $"{root}: no such projects folder");
        }

        // Columns two spaces apart, the counts right-aligned under their headers.
        var table = new Table().Border(TableBorder.None).AddColumn(new TableColumn("workflow") { Padding = new Padding(0, 0, 2, 0) });
        foreach (var column in new[] { "complete", "running", "queued", "retrying", "failed", "blocked", "invalid", "errors", "age" })
        {
            table.AddColumn(new TableColumn(column) { Padding = new Padding(0, 0, 2, 0) }.RightAligned());
        }

        table.AddColumn(new TableColumn("") { Padding = new Padding(0, 0, 0, 0) });
        var attention = 0;
        foreach (var path in WorkflowFiles.Scan(root).Order(StringComparer.Ordinal))
        {
            var snapshot = await FileSnapshotStore.LoadAsync(path, cancellationToken);
            var name = Path.GetRelativePath(root, path);
            if (snapshot is null)
            {
                CliFormat.AddRow(table, [name, "-", "-", "-", "-", "-", "-", "-", "-", "-", "not reconciled yet: is the daemon running?"]);
                attention++;
                continue;
            }

            var s = snapshot.Summary;
            var late = context.Clock.GetUtcNow() - (snapshot.NextReconcileAt ?? snapshot.ReconciledAt) > TimeSpan.FromMinutes(1);
            var notes = new List<string>();
            if (snapshot.Cancel)
            {
                notes.Add("cancelled");
            }

            if (late)
            {
                notes.Add("stale: is the daemon running?");
            }

            attention += late || s.Failed > 0 || s.Invalid > 0 || snapshot.Errors.Count > 0 ? 1 : 0;
            CliFormat.AddRow(table,
            [
                name, $"{s.Complete}/{s.Total}", $"{s.Running}", $"{s.Queued}", $"{s.Retrying}", $"{s.Failed}", $"{s.Blocked}", $"{s.Invalid}",
                $"{snapshot.Errors.Count}", context.Age(snapshot.ReconciledAt), string.Join("; ", notes),
            ]);
        }

        CliFormat.Write(context, table);
        return attention > 0 ? ExitCodes.NotOk : ExitCodes.Ok;
    }
}

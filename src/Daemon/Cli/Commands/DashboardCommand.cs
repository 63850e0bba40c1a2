using Batchkeeper.Daemon.Snapshots;
using Batchkeeper.Daemon.Watching;
using Spectre.Console;

namespace Batchkeeper.Daemon.Cli.Commands;

/// <summary><c>dashboard</c>: one row per workflow across all projects.</summary>
internal sealed class DashboardCommand(CliContext context)
{
    /// <summary>
    /// <c>dashboard</c>: one row per workflow, from every snapshot under the projects root, with every count that needs a
    /// person (retrying, failed, blocked, invalid, errors) and a note for a cancelled workflow or a daemon that is not
    /// reconciling it (stopped, not heard from, late; see <see cref="Liveness"/>). Exit 1 when any row needs attention,
    /// as <c>status</c> exits 1 for one workflow. The age is that of the workflow's last pass, from the heartbeat.
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
        var liveness = await Liveness.ReadAsync(root, context.Clock.GetUtcNow(), cancellationToken);
        if (liveness.Said is { } said)
        {
            // Once, above the table: a stopped or silent daemon concerns every row.
            await context.Output.WriteLineAsync(said);
        }

        var attention = liveness.Said is null ? 0 : 1;
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
            var (lastPass, late) = liveness.Of(snapshot, name);
            var notes = new List<string>();
            if (snapshot.Cancel)
            {
                notes.Add("cancelled");
            }

            if (late is not null)
            {
                notes.Add(late);
            }

            attention += late is not null || s.Failed > 0 || s.Invalid > 0 || snapshot.Errors.Count > 0 ? 1 : 0;
            CliFormat.AddRow(table,
            [
                name, $"{s.Complete}/{s.Total}", $"{s.Running}", $"{s.Queued}", $"{s.Retrying}", $"{s.Failed}", $"{s.Blocked}", $"{s.Invalid}",
                $"{snapshot.Errors.Count}", context.Age(lastPass), string.Join("; ", notes),
            ]);
        }

        CliFormat.Write(context, table);
        return attention > 0 ? ExitCodes.NotOk : ExitCodes.Ok;
    }
}

using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Snapshots;

namespace Batchkeeper.Daemon.Cli.Commands;

/// <summary><c>status</c>: the state of a workflow's slots from its snapshot, once or with <c>--watch</c>.</summary>
internal sealed class StatusCommand(CliContext context)
{
    /// <summary><c>status --watch</c>: the status again every <see cref="CliContext.FollowInterval"/>, until interrupted (then exit 0).</summary>
    public async Task<int> WatchStatusAsync(string workflowPath, bool json, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await context.Output.WriteLineAsync($"--- {DateTimeOffset.Now:HH:mm:ss}");
                await StatusAsync(workflowPath, json, cancellationToken);
                await context.Output.FlushAsync(cancellationToken);
                await Task.Delay(context.FollowInterval, context.Clock, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            return ExitCodes.Ok;
        }
    }

    /// <summary><c>status</c>: counts per state, then the slots that need attention, from the snapshot.</summary>
    public async Task<int> StatusAsync(string workflowPath, bool json, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(workflowPath);
        var snapshotPath = FileSnapshotStore.PathFor(path);
        if (!File.Exists(snapshotPath))
        {
            return context.Fail(ExitCodes.NotOk, $"{snapshotPath}: no snapshot yet: the daemon has not reconciled {Path.GetFileName(path)} (is it running, and is the file under the projects folder?)");
        }

        if (json)
        {
            context.Output.WriteLine(await File.ReadAllTextAsync(snapshotPath, cancellationToken));
            return ExitCodes.Ok;
        }

        var snapshot = await FileSnapshotStore.LoadAsync(path, cancellationToken);
        if (snapshot is null)
        {
            return context.Fail(ExitCodes.Usage, $"{snapshotPath}: not a batchkeeper.status/1 snapshot");
        }

        var s = snapshot.Summary;
        context.Output.WriteLine($"{snapshot.Project}/{snapshot.File} ({snapshot.Workflow ?? "?"}, {snapshot.Backend}) reconciled {context.Age(snapshot.ReconciledAt)} ago");
        context.Output.WriteLine($"total {s.Total}  complete {s.Complete}  running {s.Running}  queued {s.Queued}  waiting {s.Waiting}  retrying {s.Retrying}  failed {s.Failed}  blocked {s.Blocked}  invalid {s.Invalid}  cancelled {s.Cancelled}");
        foreach (var e in snapshot.Errors)
        {
            context.Output.WriteLine($"error: {e.Message}");
        }

        var attention = snapshot.Slots.Where(x => x.Stuck || x.State is SlotState.FailedPermanently or SlotState.Blocked or SlotState.Invalid or SlotState.Retrying).ToArray();
        foreach (var slot in attention)
        {
            var state = slot.Stuck ? "stuck" : CliFormat.Wire(slot.State);
            context.Output.WriteLine($"{state,-18} {slot.Sample} / {slot.Analysis}  attempt {slot.Attempt}/{slot.MaxAttempts}  {slot.Message}");
        }

        return s.Failed > 0 || s.Invalid > 0 || snapshot.Errors.Count > 0 ? ExitCodes.NotOk : ExitCodes.Ok;
    }

}

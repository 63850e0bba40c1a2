using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Snapshots;
using Spectre.Console;

namespace Batchkeeper.Daemon.Cli.Commands;

/// <summary><c>status</c>: the state of a workflow's slots from its snapshot, once or with <c>--watch</c>.</summary>
internal sealed class StatusCommand(CliContext context)
{
    /// <summary>
    /// <c>status --watch</c>: the status again every <see cref="CliContext.FollowInterval"/>, until interrupted (then exit
    /// 0). On a terminal it is redrawn in place, as <c>watch</c> does (Spectre.Console's live display); into a pipe or a
    /// file it is one plain block per refresh, each headed <c>--- HH:mm:ss</c>, so a log of it reads in order.
    /// </summary>
    public async Task<int> WatchStatusAsync(string workflowPath, bool json, CancellationToken cancellationToken)
    {
        try
        {
            if (context.OutputIsTerminal && !json && Terminal() is { } console)
            {
                return await RedrawAsync(console, workflowPath, cancellationToken);
            }

            for (var first = true; ; first = false)
            {
                await context.Output.WriteLineAsync($"--- {DateTimeOffset.Now:HH:mm:ss}");
                var code = await WriteStatusAsync(context.Output, workflowPath, json, cancellationToken);
                await context.Output.FlushAsync(cancellationToken);
                if (first && code == ExitCodes.Usage)
                {
                    return code; // no such file: nothing will come
                }

                await Task.Delay(context.FollowInterval, context.Clock, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            return ExitCodes.Ok;
        }
    }

    /// <summary><c>status</c>: counts per state, then the slots that need attention, from the snapshot.</summary>
    public Task<int> StatusAsync(string workflowPath, bool json, CancellationToken cancellationToken) =>
        WriteStatusAsync(context.Output, workflowPath, json, cancellationToken);

    /// <summary>The terminal as Spectre.Console sees it, when it can move the cursor (ANSI); null otherwise.</summary>
    private IAnsiConsole? Terminal()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(context.Output), Interactive = InteractionSupport.Yes });
        return console.Profile.Capabilities.Ansi ? console : null;
    }

    private async Task<int> RedrawAsync(IAnsiConsole console, string workflowPath, CancellationToken cancellationToken)
    {
        var code = ExitCodes.Ok;
        var every = $"{context.FollowInterval.TotalSeconds:0.##}s";
        await console.Live(new Text("")).AutoClear(false).Cropping(VerticalOverflowCropping.Bottom).StartAsync(async live =>
        {
            for (var first = true; ; first = false)
            {
                using var block = new StringWriter();
                await block.WriteLineAsync($"every {every}: batchkeeper status {workflowPath}    {DateTimeOffset.Now:HH:mm:ss}  (Ctrl+C to stop)");
                await block.WriteLineAsync();
                code = await WriteStatusAsync(block, workflowPath, json: false, cancellationToken);
                live.UpdateTarget(new Text(block.ToString().TrimEnd()));
                if (first && code == ExitCodes.Usage)
                {
                    return;
                }

                await Task.Delay(context.FollowInterval, context.Clock, cancellationToken);
            }
        });
        return code;
    }

    private async Task<int> WriteStatusAsync(TextWriter output, string workflowPath, bool json, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(workflowPath);
        var snapshotPath = FileSnapshotStore.PathFor(path);
        var exists = File.Exists(path);
        if (!File.Exists(snapshotPath))
        {
            return exists
                ? Fail(output, ExitCodes.NotOk, $"{snapshotPath}: no snapshot yet: the daemon has not reconciled {Path.GetFileName(path)} (is it running, and is the file under the projects folder?)")
                : Fail(output, ExitCodes.Usage, $"{path}: no such file");
        }

        if (json)
        {
            await output.WriteLineAsync(await File.ReadAllTextAsync(snapshotPath, cancellationToken));
            return ExitCodes.Ok;
        }

        var snapshot = await FileSnapshotStore.LoadAsync(path, cancellationToken);
        if (snapshot is null)
        {
            return Fail(output, ExitCodes.Usage, $"{snapshotPath}: not a batchkeeper.status/1 snapshot");
        }

        var s = snapshot.Summary;
        var what = snapshot.Workflow is { } name ? $"workflow {name}" : "not parsed (see the errors)";

        var (liveness, lastPass, late) = await Liveness.OfWorkflowAsync(path, snapshot, context.Clock.GetUtcNow(), cancellationToken);
        var changed = lastPass - snapshot.ReconciledAt >= TimeSpan.FromSeconds(1) ? $" (its snapshot last changed {context.Age(snapshot.ReconciledAt)} ago)" : "";
        await output.WriteLineAsync($"{snapshot.Project}/{snapshot.File}: {what}, {snapshot.Backend} backend, reconciled {context.Age(lastPass)} ago{changed}");
        if ((liveness.Said ?? (exists ? late : null)) is { } daemon)
        {
            await output.WriteLineAsync(daemon);
        }
        if (!exists)
        {
            await output.WriteLineAsync($"gone: {path} no longer exists; this is its last snapshot, which the daemon no longer updates (delete {Path.GetFileName(snapshotPath)} to clear it)");
        }

        if (snapshot.Cancel)
        {
            await output.WriteLineAsync("cancelled: the file sets \"cancel\": true; its active jobs are terminated and nothing more is submitted");
        }

        await output.WriteLineAsync($"total {s.Total}  complete {s.Complete}  running {s.Running}  queued {s.Queued}  waiting {s.Waiting}  retrying {s.Retrying}  failed {s.Failed}  blocked {s.Blocked}  invalid {s.Invalid}  cancelled {s.Cancelled}");
        foreach (var e in snapshot.Errors)
        {
            await output.WriteLineAsync($"error: {e.Message}");
        }

        foreach (var slot in snapshot.Slots.Where(x => x.Stuck || x.State is SlotState.FailedPermanently or SlotState.Blocked or SlotState.Invalid or SlotState.Retrying))
        {
            var state = slot.Stuck ? "stuck" : CliFormat.Wire(slot.State);
            var attempt = slot.MaxAttempts > 0 ? $"attempt {slot.Attempt}/{slot.MaxAttempts}  " : "";
            await output.WriteLineAsync($"{state,-18} {slot.Sample} / {slot.Analysis}  {attempt}{slot.Message}");
        }

        return s.Failed > 0 || s.Invalid > 0 || snapshot.Errors.Count > 0 || !exists ? ExitCodes.NotOk : ExitCodes.Ok;
    }

    /// <summary>Into a pipe the error goes to stderr as every command's; in a redraw it is what the screen shows.</summary>
    private int Fail(TextWriter output, int code, string message)
    {
        if (ReferenceEquals(output, context.Output))
        {
            return context.Fail(code, message);
        }

        output.WriteLine($"batchkeeper: {message}");
        return code;
    }
}

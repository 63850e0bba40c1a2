using Batchkeeper.Core.Snapshots;
using Batchkeeper.Core.Workflows;
using Batchkeeper.Daemon.Aws;
using Batchkeeper.Daemon.JobLogs;
using Batchkeeper.Daemon.Local;
using Batchkeeper.Daemon.Snapshots;

namespace Batchkeeper.Daemon.Cli.Commands;

/// <summary><c>logs</c>: a slot's job output, from its log file locally or CloudWatch Logs on AWS.</summary>
internal sealed class LogsCommand(CliContext context)
{
    /// <summary>
    /// <c>logs</c>: the slot's job output; locally its log file. With <c>--follow</c> it waits for what is still to come
    /// (the daemon's first snapshot, the job, its first line), as <c>kubectl logs -f</c> waits for a container, then
    /// prints the output as it is written and stops after the job's last lines.
    /// </summary>
    public async Task<int> LogsAsync(string workflowPath, string sample, string? analysis, bool follow, CancellationToken cancellationToken, string? logGroup = null)
    {
        var path = Path.GetFullPath(workflowPath);
        var snapshot = await FileSnapshotStore.LoadAsync(path, cancellationToken);
        if (snapshot is null && !File.Exists(path))
        {
            return context.Fail(ExitCodes.Usage, $"{path}: no such file");
        }

        // While --follow waits, one line on stderr says for what (when that changes), so a quiet screen is explained.
        string? waitingFor = null;
        void Waiting(string what)
        {
            if (what != waitingFor)
            {
                context.Error.WriteLine($"batchkeeper: waiting {what} (Ctrl+C to stop)");
                waitingFor = what;
            }
        }

        while (true)
        {
            if (snapshot is null)
            {
                if (!follow)
                {
                    return context.Fail(ExitCodes.NotOk, $"{FileSnapshotStore.PathFor(path)}: no snapshot yet: the daemon has not reconciled {Path.GetFileName(path)} (is it running?); --follow waits for it");
                }

                Waiting($"for the daemon's first snapshot of {Path.GetFileName(path)}");
            }
            else
            {
                var slots = snapshot.Slots.Where(s => s.Sample == sample && (analysis is null || s.Analysis == analysis)).ToArray();
                if (slots.Length == 0)
                {
                    return context.Fail(ExitCodes.Usage, $"no slot for sample '{sample}'{(analysis is null ? "" : $" and analysis '{analysis}'")} in {snapshot.File}");
                }

                if (slots.Length > 1)
                {
                    return context.Fail(ExitCodes.Usage, $"sample '{sample}' has {slots.Length} analyses ({string.Join(", ", slots.Select(s => s.Analysis))}): name one with --analysis");
                }

                var slot = slots[0];
                var log = SlotLogs.Locate(snapshot, slot);
                if (log.Readable)
                {
                    return log.Local
                        ? await LocalLogAsync(path, slot, log.Stream!, follow, cancellationToken)
                        : await AwsAsync(path, slot, log.Stream!, follow, logGroup, cancellationToken);
                }

                if (!follow || !SlotLogs.IsStillToCome(slot))
                {
                    return context.Fail(ExitCodes.NotOk, SlotLogs.WhyNone(slot, log.Stream, follow));
                }

                Waiting($"for the job of slot {slot.Sample} / {slot.Analysis} to start ({CliFormat.Wire(slot.State)})");
            }

            await Task.Delay(context.FollowInterval, context.Clock, cancellationToken);
            snapshot = await FileSnapshotStore.LoadAsync(path, cancellationToken);
        }
    }

    /// <summary>The local log file from the start; with <c>--follow</c>, what is added while the job runs, and once more after it ends.</summary>
    private async Task<int> LocalLogAsync(string path, SlotRecord slot, string stream, bool follow, CancellationToken cancellationToken)
    {
        long position = 0;
        var last = false;
        while (true)
        {
            try
            {
                (var text, position) = await JobLogReader.ReadFileFromAsync(stream, LocalJobStore.LogFolder(context.Options), position, cancellationToken);
                await context.Output.WriteAsync(text);
                await context.Output.FlushAsync(cancellationToken);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                return context.Fail(ExitCodes.NotOk, $"{stream}: the log file of job {slot.JobId ?? slot.LastAttempt?.JobId} is gone");
            }
            catch (InputException e)
            {
                return context.Fail(ExitCodes.NotOk, $"the log file of job {slot.JobId ?? slot.LastAttempt?.JobId}: {e.Message}: not read");
            }

            if (!follow || last)
            {
                return ExitCodes.Ok;
            }

            // One more read after the job stops: the lines it wrote last may have come after the read above.
            last = !await IsStillRunningAsync(path, slot, cancellationToken);
            if (!last)
            {
                await Task.Delay(context.FollowInterval, context.Clock, cancellationToken);
            }
        }
    }

    /// <summary><c>logs</c> on AWS, once the region and credentials are there (one sentence when they are not).</summary>
    private async Task<int> AwsAsync(string path, SlotRecord slot, string stream, bool follow, string? logGroup, CancellationToken cancellationToken) =>
        await AwsPreflight.MissingAsync(context, aboutQueues: false) is { } missing
            ? context.Fail(ExitCodes.Usage, missing)
            : await AwsLogsAsync(path, slot, stream, follow, logGroup, cancellationToken);

    /// <summary>
    /// <c>logs</c> on AWS: every page of the slot's CloudWatch Logs stream (GetLogEvents, oldest first); with
    /// <c>--follow</c>, reads on from the last page's token while the job is active, then once more for the last lines.
    /// </summary>
    private async Task<int> AwsLogsAsync(string path, SlotRecord slot, string stream, bool follow, string? logGroup, CancellationToken cancellationToken)
    {
        try
        {
            var group = logGroup ?? context.AwsSettings.LogGroup;
            var client = context.Aws<CloudWatchLogsClient>();
            string? token = null;
            var last = false;
            while (true)
            {
                try
                {
                    await foreach (var page in client.ReadPagesAsync(group, stream, token, cancellationToken))
                    {
                        foreach (var line in page.Events)
                        {
                            await context.Output.WriteLineAsync(line.Message);
                        }

                        token = page.NextForwardToken ?? token;
                    }

                    await context.Output.FlushAsync(cancellationToken);
                }
                catch (CloudWatchLogsException e) when (e.ErrorCode == "ResourceNotFoundException" && (!follow || last))
                {
                    return context.Fail(ExitCodes.NotOk,
                        $"log stream {stream} in log group {group}: {e.ServiceMessage} (a job definition that sends its logs elsewhere needs --log-group)");
                }
                catch (CloudWatchLogsException e) when (e.ErrorCode == "ResourceNotFoundException")
                {
                    // Following a job that has not written anything yet: its stream appears with its first line.
                }

                if (!follow || last)
                {
                    return ExitCodes.Ok;
                }

                // One more read after the job stops: the lines it wrote last may have arrived since.
                last = !await IsStillRunningAsync(path, slot, cancellationToken);
                if (!last)
                {
                    await Task.Delay(context.FollowInterval, context.Clock, cancellationToken);
                }
            }
        }
        catch (Exception e) when (CliContext.AwsFailure(e) is { } failure)
        {
            return context.Fail(failure.Code, failure.Message);
        }
    }

    /// <summary>Whether the slot's job is still queued or running, by the workflow's current snapshot.</summary>
    private static async Task<bool> IsStillRunningAsync(string path, SlotRecord slot, CancellationToken cancellationToken)
    {
        var current = await FileSnapshotStore.LoadAsync(path, cancellationToken);
        var now = current?.Slots.FirstOrDefault(s => s.Sample == slot.Sample && s.Analysis == slot.Analysis);
        return now is { State: SlotState.Queued or SlotState.Running };
    }

}

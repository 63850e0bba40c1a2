using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Snapshots;
using Batchkeeper.Daemon.Workflows;

namespace Batchkeeper.Daemon.Cli.Commands;

/// <summary><c>retry</c>: a fresh budget for permanently failed slots, as a request file the daemon applies.</summary>
internal sealed class RetryCommand(CliContext context)
{
    /// <summary><c>retry</c>: a request the daemon consumes on its next pass.</summary>
    public async Task<int> RetryAsync(string workflowPath, string? sample, string? analysis, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(workflowPath);
        if (!context.Exists(path, out var code))
        {
            return code;
        }

        // With a snapshot to go by, a typo'd sample or analysis is an error and a request that would match nothing is not
        // written; without one (the daemon has not seen the file yet) the request is written as asked.
        if (await FileSnapshotStore.LoadAsync(path, cancellationToken) is { } snapshot)
        {
            if (sample is not null && !snapshot.Slots.Any(s => s.Sample == sample))
            {
                return context.Fail(ExitCodes.Usage, $"no sample '{sample}' in {snapshot.File}");
            }

            if (analysis is not null && !snapshot.Slots.Any(s => s.Analysis == analysis))
            {
                return context.Fail(ExitCodes.Usage, $"no analysis '{analysis}' in {snapshot.File}; its analyses are: {string.Join(", ", snapshot.Slots.Select(s => s.Analysis).Distinct(StringComparer.Ordinal))}");
            }

            var failed = snapshot.Slots.Count(s => s.State == SlotState.FailedPermanently
                && (sample is null || s.Sample == sample) && (analysis is null || s.Analysis == analysis));
            if (failed == 0)
            {
                var (_, lastPass, _) = await Liveness.OfWorkflowAsync(path, snapshot, context.Clock.GetUtcNow(), cancellationToken);
                context.Output.WriteLine($"nothing to retry: no slot for sample {sample ?? "*"}, analysis {analysis ?? "*"} has failed for good (as of the pass {context.Age(lastPass)} ago)");
                return ExitCodes.Ok;
            }
        }

        var request = await RetryRequestFile.AddAsync(path, sample, analysis, context.Clock.GetUtcNow(), cancellationToken);
        context.Output.WriteLine($"retry requested ({request.Id}) for sample {sample ?? "*"}, analysis {analysis ?? "*"}: the daemon gives the matching failed slots a fresh budget on its next pass ({RetryRequestFile.PathFor(path)})");
        return ExitCodes.Ok;
    }

}

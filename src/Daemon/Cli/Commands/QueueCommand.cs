using Batchkeeper.Daemon.Aws.Batch;
using Batchkeeper.Daemon.Aws.Batch.Model;

namespace Batchkeeper.Daemon.Cli.Commands;

/// <summary><c>queue</c>: job counts per status in a Batch queue.</summary>
internal sealed class QueueCommand(CliContext context)
{
    /// <summary><c>queue</c>: job counts per status in a Batch queue (every page of ListJobs per status).</summary>
    public async Task<int> QueueAsync(string queue, CancellationToken cancellationToken)
    {
        if (await AwsPreflight.MissingAsync(context, aboutQueues: true) is { } missing)
        {
            return context.Fail(ExitCodes.Usage, $"queue {queue}: {missing}");
        }

        try
        {
            return await CountQueueAsync(queue, cancellationToken);
        }
        catch (Exception e) when (CliContext.AwsFailure(e) is { } failure)
        {
            return context.Fail(failure.Code, $"queue {queue}: {failure.Message}");
        }
    }

    private async Task<int> CountQueueAsync(string queue, CancellationToken cancellationToken)
    {
        var client = context.Aws<IBatchClient>();
        context.Output.WriteLine($"queue {queue}");
        foreach (var status in Aws.Batch.Model.JobStatus.All)
        {
            var count = 0;
            try
            {
                await foreach (var _ in client.ListAllJobsAsync(new ListJobsRequest { JobQueue = queue, JobStatus = status, MaxResults = 1000 }, cancellationToken))
                {
                    count++;
                }
            }
            catch (BatchServiceException e) when (e.IsClientError)
            {
                return context.Fail(ExitCodes.Usage, $"queue {queue}: {e.ErrorCode}: {e.ServiceMessage}");
            }

            context.Output.WriteLine($"{status,-10} {count}");
        }

        return ExitCodes.Ok;
    }
}

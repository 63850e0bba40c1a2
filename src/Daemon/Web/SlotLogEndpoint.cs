using Batchkeeper.Core.Snapshots;
using Batchkeeper.Core.Workflows;
using Batchkeeper.Daemon.Aws;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.JobLogs;
using Batchkeeper.Daemon.Local;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Web;

/// <summary>
/// <c>/api/workflows/{project}/{workflow}/log?sample=…&amp;analysis=…[&amp;job=…]</c>: the end of a slot's job log
/// (the current job's, else the last attempt's, or the attempt <c>job</c> names), at most <see cref="MaxBytes"/>,
/// found and read by the same code as <c>batchkeeper logs</c> (<see cref="SlotLogs"/>, <see cref="JobLogReader"/>):
/// the local log file, or the CloudWatch Logs stream through the daemon's own client (its rate limit and retries).
/// The one answer read from outside the registry; it never waits for a pass.
/// </summary>
internal sealed class SlotLogEndpoint(IServiceProvider daemon)
{
    /// <summary>The most of a log the page is sent: its last 64 KiB, from a whole line.</summary>
    public const int MaxBytes = 64 * 1024;

    private readonly string _localLogs = LocalJobStore.LogFolder(daemon.GetRequiredService<IOptions<BatchkeeperOptions>>().Value);

    private readonly ILogger _logger = daemon.GetRequiredService<ILoggerFactory>().CreateLogger<StatusServer>();

    public async Task WriteAsync(HttpContext context, WorkflowView view, SlotRecord slot)
    {
        var jobId = context.Request.Query["job"].ToString() is { Length: > 0 } job ? job : null;
        if (jobId is not null && jobId != slot.JobId && slot.History.All(h => h.JobId != jobId))
        {
            await WorkflowEndpoints.ErrorAsync(context, StatusCodes.Status404NotFound, $"slot {slot.Sample} / {slot.Analysis} has no attempt with job id '{Core.Workflows.Quoted.Name(jobId)}'");
            return;
        }

        var location = SlotLogs.Locate(view.Snapshot, slot, jobId);
        var shownJob = jobId ?? slot.JobId ?? slot.LastAttempt?.JobId;
        LogAnswer Answer(string source, string? group, LogTail? tail, string? message) =>
            new(slot.Sample, slot.Analysis, shownJob, source, location.Stream, group, tail?.Text, tail?.Truncated ?? false, tail?.Bytes, MaxBytes, message);

        if (!location.Readable)
        {
            await WorkflowEndpoints.WriteAsync(context, Answer("none", null, null, SlotLogs.WhyNone(slot, location.Stream, follow: true)));
            return;
        }

        var stream = location.Stream!;
        if (location.Local)
        {
            await WorkflowEndpoints.WriteAsync(context, await LocalAsync(stream, _localLogs, shownJob, Answer, context.RequestAborted));
            return;
        }

        await WorkflowEndpoints.WriteAsync(context, await CloudWatchAsync(stream, Answer, context.RequestAborted));
    }

    /// <summary>Only the local backend's own log files, and only regular ones (<see cref="JobLogReader"/>): a refusal names the file.</summary>
    private static async Task<LogAnswer> LocalAsync(string path, string logFolder, string? job, Func<string, string?, LogTail?, string?, LogAnswer> answer, CancellationToken cancellationToken)
    {
        try
        {
            return answer("file", null, await JobLogReader.ReadFileTailAsync(path, logFolder, MaxBytes, cancellationToken), null);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return answer("none", null, null, $"{path}: the log file of job {job} is gone");
        }
        catch (InputException e)
        {
            return answer("none", null, null, $"the log file of job {job}: {e.Message}: not shown");
        }
    }

    private async Task<LogAnswer> CloudWatchAsync(string stream, Func<string, string?, LogTail?, string?, LogAnswer> answer, CancellationToken cancellationToken)
    {
        if (daemon.GetService<CloudWatchLogsClient>() is not { } client)
        {
            return answer("none", null, null, "this daemon runs the local backend: it has no CloudWatch Logs client to read an AWS job's log with");
        }

        var group = daemon.GetRequiredService<IOptions<AwsOptions>>().Value.LogGroup;
        try
        {
            return answer("cloudwatch", group, await JobLogReader.ReadCloudWatchTailAsync(client, group, stream, MaxBytes, cancellationToken), null);
        }
        catch (CloudWatchLogsException e) when (e.ErrorCode == "ResourceNotFoundException")
        {
            return answer("none", group, null, $"log stream {stream} in log group {group}: {e.ServiceMessage} (a job definition that sends its logs elsewhere needs Batchkeeper:Aws:LogGroup)");
        }
        catch (Exception e) when (e is AwsServiceException or HttpRequestException or TimeoutException or Amazon.Runtime.AmazonClientException)
        {
            Log.StatusPageLogUnread(_logger, stream, e.Message);
            return answer("none", group, null, $"log stream {stream} in log group {group} could not be read: {e.Message}");
        }
    }
}

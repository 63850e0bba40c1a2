using Microsoft.Extensions.Logging;

namespace Batchkeeper.Daemon.Aws.JobStates;

/// <summary>
/// Log lines of job states: the events queue and how each Batch queue is polled (event ids 3100–3199). A message of
/// the events queue is named by its id, never quoted.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3100, Level = LogLevel.Information,
        Message = "Job-state events: reading {QueueUrl}; every job is described again every {ResyncInterval} and at start-up.")]
    public static partial void EventsStarted(ILogger logger, string queueUrl, string resyncInterval);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning,
        Message = "The events queue {QueueUrl} cannot be read ({Reason}): job states are polled from Batch until it can; trying again in {Delay}, then less and less often (said once until it works).")]
    public static partial void EventsUnreachable(ILogger logger, string queueUrl, string reason, string delay);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Information,
        Message = "The events queue {QueueUrl} can be read again after {Outage}: job states come from events again, after one more DescribeJobs of every job.")]
    public static partial void EventsReachableAgain(ILogger logger, string queueUrl, string outage);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Warning,
        Message = "Events queue message {MessageId} is not a Batch job-state event ({Reason}): deleted without being used.")]
    public static partial void BadMessage(ILogger logger, string messageId, string reason);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Debug,
        Message = "Events queue message {MessageId} is a '{DetailType}' event from {Source}: deleted without being used.")]
    public static partial void OtherEvent(ILogger logger, string messageId, string detailType, string source);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Warning,
        Message = "Deleting {Count} messages from the events queue failed ({Reason}): they will be delivered again, which changes nothing (said once until it works).")]
    public static partial void DeleteFailed(ILogger logger, int count, string reason);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Debug,
        Message = "Job-state resync: every job is described again when its pass next asks (every {ResyncInterval}).")]
    public static partial void Resync(ILogger logger, string resyncInterval);

    [LoggerMessage(EventId = 3107, Level = LogLevel.Debug,
        Message = "Events queue: {Messages} messages, {Applied} moved a job on, {Workflows} workflows to reconcile.")]
    public static partial void Received(ILogger logger, int messages, int applied, int workflows);

    [LoggerMessage(EventId = 3110, Level = LogLevel.Information,
        Message = "Batch queue {Queue}: job states by {Method} ({Ours} of our jobs active, {DescribeCalls} DescribeJobs calls; a listing of its {QueueJobs} active jobs costs {ListingCalls} requests).")]
    public static partial void PollingChosen(ILogger logger, string queue, string method, int ours, int describeCalls, string listingCalls, int queueJobs);
}

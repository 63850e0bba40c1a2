using Microsoft.Extensions.Logging;

namespace Batchkeeper.Core;

/// <summary>
/// Every event of the Core (the pass and the reconciler), one line each. The messages do not name the workflow or the
/// slot: each is logged inside a scope that does (<see cref="Logging.LogScopes"/>: the pass's around every line of a
/// pass, a slot's around each line about one slot), which the log templates print after the message as
/// <c>[project/file.json sample s1 analysis align]</c>, so that <c>tail -f … | grep s1</c> still finds them.
/// </summary>
internal static partial class Log
{
    // Lines about one slot, logged inside its scope.
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Submitted job {JobId} {JobName}, attempt {Attempt}{DependsOnText}.")]
    public static partial void Submitted(ILogger logger, string jobId, string jobName, int attempt, string dependsOnText);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information,
        Message = "Adopted job {JobId} {JobName} ({Status}): it was submitted before the last snapshot was written.")]
    public static partial void Adopted(ILogger logger, string jobId, string jobName, string status);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Job {JobId} is {Status}.")]
    public static partial void StatusChanged(ILogger logger, string jobId, string status);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Slot is complete (job {JobId}): every output exists.")]
    public static partial void Completed(ILogger logger, string jobId);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "Job {JobId} failed ({FailureClass}): {Reason}. {Decision}")]
    public static partial void JobFailed(ILogger logger, string jobId, string failureClass, string reason, string decision);

    [LoggerMessage(EventId = 105, Level = LogLevel.Error, Message = "Slot failed permanently (job {JobId}): {Reason}")]
    public static partial void FailedPermanently(ILogger logger, string jobId, string reason);

    [LoggerMessage(EventId = 106, Level = LogLevel.Error, Message = "Submission of {JobName} was rejected: {Reason}")]
    public static partial void Rejected(ILogger logger, string jobName, string reason);

    [LoggerMessage(EventId = 107, Level = LogLevel.Warning, Message = "Submission of {JobName} failed; submissions stop for this pass: {Reason}")]
    public static partial void SubmitError(ILogger logger, string jobName, string reason);

    [LoggerMessage(EventId = 108, Level = LogLevel.Information, Message = "Terminated job {JobId}: the workflow is cancelled.")]
    public static partial void Terminated(ILogger logger, string jobId);

    [LoggerMessage(EventId = 109, Level = LogLevel.Information,
        Message = "Spec changed (job {JobId} becomes {JobName}): the slot starts with a fresh budget.")]
    public static partial void SpecChanged(ILogger logger, string jobId, string jobName);

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "Job {JobId} is unknown to the backend {Age} after submission: taken as lost.")]
    public static partial void Lost(ILogger logger, string jobId, TimeSpan age);

    [LoggerMessage(EventId = 112, Level = LogLevel.Information,
        Message = "Retry requested (last job {JobId}): the slot gets a fresh budget of {MaxAttempts} attempts.")]
    public static partial void RetryApplied(ILogger logger, string jobId, int maxAttempts);

    [LoggerMessage(EventId = 113, Level = LogLevel.Warning, Message = "Job {JobId} has been RUNNABLE for {Waited}: {Reason}{Action}")]
    public static partial void Stuck(ILogger logger, string jobId, TimeSpan waited, string reason, string action);

    // Lines about the workflow as a whole, logged inside the pass's scope. The ids below 100 are those these lines had
    // in the Daemon, where they were logged before the pass around the reconciler moved to the Core.
    [LoggerMessage(EventId = 111, Level = LogLevel.Debug,
        Message = "Reconciled: {Complete}/{Total} complete, {Running} running, {Queued} queued, {Failed} failed, {Submitted} submitted this pass.")]
    public static partial void PassDone(ILogger logger, int complete, int total, int running, int queued, int failed, int submitted);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Workflow cannot be used: {Errors}")]
    public static partial void WorkflowInvalid(ILogger logger, string errors);

    [LoggerMessage(EventId = 14, Level = LogLevel.Information, Message = "Workflow is valid again.")]
    public static partial void WorkflowValidAgain(ILogger logger);

    [LoggerMessage(EventId = 15, Level = LogLevel.Information, Message = "Workflow does not parse yet and was written {Age} ago: reading it again shortly.")]
    public static partial void WorkflowMaybeHalfWritten(ILogger logger, TimeSpan age);

    [LoggerMessage(EventId = 16, Level = LogLevel.Error, Message = "Reconciling failed: {Error}")]
    public static partial void PassFailed(ILogger logger, string error, Exception exception);

    [LoggerMessage(EventId = 17, Level = LogLevel.Information,
        Message = "Workflow progress: {Complete}/{Total} complete, {Running} running, {Queued} queued, {Failed} failed, {Blocked} blocked, {Invalid} invalid.")]
    public static partial void Progress(ILogger logger, int complete, int total, int running, int queued, int failed, int blocked, int invalid);

    [LoggerMessage(EventId = 21, Level = LogLevel.Error,
        Message = "Writing the snapshot failed; the previous snapshot is intact: {Error} (said once until it changes or writing works again; the daemon carries on, remembering job ids in memory)")]
    public static partial void SnapshotWriteFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 22, Level = LogLevel.Information, Message = "The snapshot is written again.")]
    public static partial void SnapshotWrittenAgain(ILogger logger);
}

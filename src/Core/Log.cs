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

    /// <summary>
    /// A job seen RUNNING, with where its output goes (the local log file, the CloudWatch stream) when the backend says.
    /// Its queued states are at Debug, its end is said by the line that settles the slot.
    /// </summary>
    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Job {JobId} is {Status}{LogText}.")]
    public static partial void StatusChanged(ILogger logger, string jobId, string status, string logText);

    [LoggerMessage(EventId = 117, Level = LogLevel.Debug, Message = "Job {JobId} is {Status}.")]
    public static partial void QueuedStatusChanged(ILogger logger, string jobId, string status);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Slot is complete: job {JobId} succeeded and every output exists.")]
    public static partial void Completed(ILogger logger, string jobId);

    [LoggerMessage(EventId = 114, Level = LogLevel.Information,
        Message = "Slot is complete: every output already exists (no job of this slot was seen writing them).")]
    public static partial void OutputsFound(ILogger logger);

    [LoggerMessage(EventId = 116, Level = LogLevel.Information,
        Message = "{Count} slots are complete: every output already exists (no job of theirs was seen writing them), the first sample {Sample} analysis {Analysis}.")]
    public static partial void ManyOutputsFound(ILogger logger, int count, string sample, string analysis);

    [LoggerMessage(EventId = 115, Level = LogLevel.Warning,
        Message = "Slot is complete: every output exists, although job {JobId} failed ({Reason}); check them, or delete them to run the slot again.")]
    public static partial void CompletedAlthoughFailed(ILogger logger, string jobId, string reason);

    [LoggerMessage(EventId = 118, Level = LogLevel.Information, Message = "Job {JobId} succeeded; waiting up to {Grace} for its outputs to appear.")]
    public static partial void Verifying(ILogger logger, string jobId, string grace);

    [LoggerMessage(EventId = 119, Level = LogLevel.Debug, Message = "Job {JobId} did not run: the job it depends on failed. {Decision}")]
    public static partial void DependencyFailed(ILogger logger, string jobId, string decision);

    [LoggerMessage(EventId = 120, Level = LogLevel.Debug, Message = "Job {JobId} ended: it was terminated because the workflow is cancelled.")]
    public static partial void CancelledJobEnded(ILogger logger, string jobId);

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
    public static partial void Lost(ILogger logger, string jobId, string age);

    [LoggerMessage(EventId = 112, Level = LogLevel.Information,
        Message = "Retry requested (last job {JobId}): the slot gets a fresh budget of {MaxAttempts} attempts.")]
    public static partial void RetryApplied(ILogger logger, string jobId, int maxAttempts);

    [LoggerMessage(EventId = 113, Level = LogLevel.Warning, Message = "Job {JobId} has been RUNNABLE for {Waited}: {Reason}{Action}")]
    public static partial void Stuck(ILogger logger, string jobId, string waited, string reason, string action);

    // Lines about the workflow as a whole, logged inside the pass's scope. The ids below 100 are those these lines had
    // in the Daemon, where they were logged before the pass around the reconciler moved to the Core.
    [LoggerMessage(EventId = 111, Level = LogLevel.Debug, Message = "Reconciled: {Counts}; {Submitted} submitted this pass.")]
    public static partial void PassDone(ILogger logger, string counts, int submitted);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Workflow cannot be used: {Errors}")]
    public static partial void WorkflowInvalid(ILogger logger, string errors);

    [LoggerMessage(EventId = 14, Level = LogLevel.Information, Message = "Workflow is valid again.")]
    public static partial void WorkflowValidAgain(ILogger logger);

    [LoggerMessage(EventId = 15, Level = LogLevel.Information,
        Message = "{Files} does not parse yet and was written {Age} ago (it may still be being copied): reading it again in {Settle}.")]
    public static partial void WorkflowMaybeHalfWritten(ILogger logger, string files, string age, string settle);

    [LoggerMessage(EventId = 16, Level = LogLevel.Error, Message = "Reconciling failed: {Error}")]
    public static partial void PassFailed(ILogger logger, string error, Exception exception);

    /// <summary>The slots per state, e.g. <c>3/6 complete, 2 retrying, 1 waiting</c>: every state that has slots (<see cref="Passes.ProgressText"/>), so that a pass of retries and waits does not read as idle.</summary>
    [LoggerMessage(EventId = 17, Level = LogLevel.Information, Message = "Workflow progress: {Counts}.")]
    public static partial void Progress(ILogger logger, string counts);

    [LoggerMessage(EventId = 121, Level = LogLevel.Warning, Message = "{Slots} invalid: {Error} (samples {Samples}).")]
    public static partial void SlotsInvalid(ILogger logger, string slots, string error, string samples);

    [LoggerMessage(EventId = 122, Level = LogLevel.Warning, Message = "{Slots} more invalid, for {Reasons} other reasons (each slot's message is in the snapshot).")]
    public static partial void MoreSlotsInvalid(ILogger logger, string slots, int reasons);

    [LoggerMessage(EventId = 123, Level = LogLevel.Information, Message = "Every slot is valid again.")]
    public static partial void SlotsValidAgain(ILogger logger);

    [LoggerMessage(EventId = 21, Level = LogLevel.Error,
        Message = "Writing the snapshot failed; the previous snapshot is intact: {Error} (said once until it changes or writing works again; the daemon carries on, remembering job ids in memory)")]
    public static partial void SnapshotWriteFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 22, Level = LogLevel.Information, Message = "The snapshot is written again.")]
    public static partial void SnapshotWrittenAgain(ILogger logger);
}

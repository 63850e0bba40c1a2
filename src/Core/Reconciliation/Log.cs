using Microsoft.Extensions.Logging;

namespace Batchkeeper.Core.Reconciliation;

/// <summary>
/// Every event of the reconciler, one line each. Lines about a job always carry project, workflow,
/// sample, analysis and job id, so that <c>tail -f … | grep sample42</c> finds them.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information,
        Message = "Submitted job {JobId} {JobName} for {Project}/{Workflow} sample {Sample} analysis {Analysis}, attempt {Attempt}{DependsOnText}.")]
    public static partial void Submitted(ILogger logger, string jobId, string jobName, string project, string workflow, string sample, string analysis, int attempt, string dependsOnText);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information,
        Message = "Adopted job {JobId} {JobName} ({Status}) for {Project}/{Workflow} sample {Sample} analysis {Analysis}: it was submitted before the last snapshot was written.")]
    public static partial void Adopted(ILogger logger, string jobId, string jobName, string status, string project, string workflow, string sample, string analysis);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information,
        Message = "Job {JobId} for {Project}/{Workflow} sample {Sample} analysis {Analysis} is {Status}.")]
    public static partial void StatusChanged(ILogger logger, string jobId, string project, string workflow, string sample, string analysis, string status);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information,
        Message = "Slot {Project}/{Workflow} sample {Sample} analysis {Analysis} is complete (job {JobId}): every output exists.")]
    public static partial void Completed(ILogger logger, string project, string workflow, string sample, string analysis, string jobId);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning,
        Message = "Job {JobId} for {Project}/{Workflow} sample {Sample} analysis {Analysis} failed ({FailureClass}): {Reason}. {Decision}")]
    public static partial void JobFailed(ILogger logger, string jobId, string project, string workflow, string sample, string analysis, string failureClass, string reason, string decision);

    [LoggerMessage(EventId = 105, Level = LogLevel.Error,
        Message = "Slot {Project}/{Workflow} sample {Sample} analysis {Analysis} failed permanently (job {JobId}): {Reason}")]
    public static partial void FailedPermanently(ILogger logger, string project, string workflow, string sample, string analysis, string jobId, string reason);

    [LoggerMessage(EventId = 106, Level = LogLevel.Error,
        Message = "Submission for {Project}/{Workflow} sample {Sample} analysis {Analysis} was rejected (job {JobId}): {Reason}")]
    public static partial void Rejected(ILogger logger, string project, string workflow, string sample, string analysis, string jobId, string reason);

    [LoggerMessage(EventId = 107, Level = LogLevel.Warning,
        Message = "Submission for {Project}/{Workflow} sample {Sample} analysis {Analysis} failed (job {JobId}); submissions stop for this pass: {Reason}")]
    public static partial void SubmitError(ILogger logger, string project, string workflow, string sample, string analysis, string jobId, string reason);

    [LoggerMessage(EventId = 108, Level = LogLevel.Information,
        Message = "Terminated job {JobId} for {Project}/{Workflow} sample {Sample} analysis {Analysis}: the workflow is cancelled.")]
    public static partial void Terminated(ILogger logger, string jobId, string project, string workflow, string sample, string analysis);

    [LoggerMessage(EventId = 109, Level = LogLevel.Information,
        Message = "Spec of {Project}/{Workflow} sample {Sample} analysis {Analysis} changed (job {JobId} becomes {JobName}): the slot starts with a fresh budget.")]
    public static partial void SpecChanged(ILogger logger, string project, string workflow, string sample, string analysis, string jobId, string jobName);

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning,
        Message = "Job {JobId} for {Project}/{Workflow} sample {Sample} analysis {Analysis} is unknown to the backend {Age} after submission: taken as lost.")]
    public static partial void Lost(ILogger logger, string jobId, string project, string workflow, string sample, string analysis, TimeSpan age);

    [LoggerMessage(EventId = 112, Level = LogLevel.Information,
        Message = "Retry requested for {Project}/{Workflow} sample {Sample} analysis {Analysis} (last job {JobId}): the slot gets a fresh budget of {MaxAttempts} attempts.")]
    public static partial void RetryApplied(ILogger logger, string project, string workflow, string sample, string analysis, string jobId, int maxAttempts);

    [LoggerMessage(EventId = 113, Level = LogLevel.Warning,
        Message = "Job {JobId} for {Project}/{Workflow} sample {Sample} analysis {Analysis} has been RUNNABLE for {Waited}: {Reason}{Action}")]
    public static partial void Stuck(ILogger logger, string jobId, string project, string workflow, string sample, string analysis, TimeSpan waited, string reason, string action);

    [LoggerMessage(EventId = 111, Level = LogLevel.Debug,
        Message = "Reconciled {Project}/{Workflow}: {Complete}/{Total} complete, {Running} running, {Queued} queued, {Failed} failed, {Submitted} submitted this pass.")]
    public static partial void PassDone(ILogger logger, string project, string workflow, int complete, int total, int running, int queued, int failed, int submitted);
}

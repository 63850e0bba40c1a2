using Microsoft.Extensions.Logging;

namespace Batchkeeper.Daemon;

/// <summary>Every log event of the daemon's host and adapters, one line each, with fixed event ids.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Batchkeeper {Version} started: backend {Backend}, projects {ProjectsDirectory}, reconcile every {Interval}.")]
    public static partial void Started(ILogger logger, string version, string backend, string projectsDirectory, string interval);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information,
        Message = "Stopping: the passes in flight submit nothing more and write their snapshots (their backend calls get {Grace}){LocalJobs}.")]
    public static partial void Stopping(ILogger logger, string grace, string localJobs);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Batchkeeper stopped after {Uptime}.")]
    public static partial void Stopped(ILogger logger, string uptime);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "First scan done: {Count} workflow files.")]
    public static partial void FirstScanDone(ILogger logger, int count);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "SIGHUP: rescanning the projects folder and reconciling every workflow now.")]
    public static partial void ReconcileAllRequested(ILogger logger);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Managing workflow {Project}/{File}.")]
    public static partial void WorkflowAdded(ILogger logger, string project, string file);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "Workflow {Project}/{File} was removed: no longer managed; its jobs are left as they are.")]
    public static partial void WorkflowRemoved(ILogger logger, string project, string file);

    [LoggerMessage(EventId = 12, Level = LogLevel.Debug, Message = "Workflow {Project}/{File} changed: reconciling now.")]
    public static partial void WorkflowChanged(ILogger logger, string project, string file);

    [LoggerMessage(EventId = 18, Level = LogLevel.Debug, Message = "Pass of {Project}/{File} triggered for {TriggeredAt} ended: {Outcome}.")]
    public static partial void PassEnded(ILogger logger, string project, string file, string triggeredAt, Core.Passes.PassOutcome outcome);

    [LoggerMessage(EventId = 19, Level = LogLevel.Debug, Message = "Pass of {Project}/{File} due at {DueAt}, when a slot's retry is due or its outputs' grace period ends.")]
    public static partial void RetryPassScheduled(ILogger logger, string project, string file, string dueAt);

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "Writing the dashboard {Path} failed: {Error} (said once until it changes or writing works again)")]
    public static partial void DashboardWriteFailed(ILogger logger, string path, string error);

    [LoggerMessage(EventId = 23, Level = LogLevel.Information, Message = "The dashboard {Path} is written again.")]
    public static partial void DashboardWrittenAgain(ILogger logger, string path);

    [LoggerMessage(EventId = 24, Level = LogLevel.Information, Message = "Deleted {Count} temp files of {Project}/{File}'s snapshot left by writes that were interrupted (the daemon was killed while writing); the snapshot itself is whole.")]
    public static partial void InterruptedWritesCleanedUp(ILogger logger, string project, string file, int count);

    [LoggerMessage(EventId = 25, Level = LogLevel.Information, Message = "Deleted {Count} temp files of the dashboard {Path} left by writes that were interrupted.")]
    public static partial void InterruptedDashboardWritesCleanedUp(ILogger logger, string path, int count);

    [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "The file watcher reported a problem; rescanning the projects folder: {Error}")]
    public static partial void WatcherError(ILogger logger, string error);

    [LoggerMessage(EventId = 32, Level = LogLevel.Warning, Message = "The projects folder {Path} is missing: nothing new is found until it is back (the workflows known carry on).")]
    public static partial void ProjectsRootMissing(ILogger logger, string path);

    [LoggerMessage(EventId = 33, Level = LogLevel.Information, Message = "The projects folder {Path} is back (or was replaced): watching it again and rescanning.")]
    public static partial void ProjectsRootWatchedAgain(ILogger logger, string path);

    [LoggerMessage(EventId = 31, Level = LogLevel.Error, Message = "Scheduling {Path} failed: {Error}")]
    public static partial void ScheduleFailed(ILogger logger, string path, string error, Exception exception);

    [LoggerMessage(EventId = 50, Level = LogLevel.Information, Message = "Told systemd the daemon is ready.")]
    public static partial void SystemdReady(ILogger logger);

    [LoggerMessage(EventId = 51, Level = LogLevel.Error, Message = "The reconcile loop looks hung ({Problem}): the systemd watchdog is no longer fed, so systemd will restart the service.")]
    public static partial void LoopHung(ILogger logger, string problem);

    [LoggerMessage(EventId = 52, Level = LogLevel.Information, Message = "The reconcile loop is alive again: feeding the systemd watchdog.")]
    public static partial void LoopRecovered(ILogger logger);

    // The job's start and end at Debug: the pass says both of the slot ("Job … is RUNNING.", "Slot is complete: job … succeeded").
    [LoggerMessage(EventId = 40, Level = LogLevel.Debug, Message = "Local job {JobId} for {Project}/{Workflow} sample {Sample} analysis {Analysis} started: {Command} (log {LogPath}).")]
    public static partial void LocalJobStarted(ILogger logger, string jobId, string project, string workflow, string sample, string analysis, string command, string logPath);

    [LoggerMessage(EventId = 41, Level = LogLevel.Debug, Message = "Local job {JobId} for {Project}/{Workflow} sample {Sample} analysis {Analysis} exited with code {ExitCode}.")]
    public static partial void LocalJobExited(ILogger logger, string jobId, string project, string workflow, string sample, string analysis, int exitCode);

    [LoggerMessage(EventId = 42, Level = LogLevel.Warning, Message = "Local job {JobId} for {Project}/{Workflow} sample {Sample} analysis {Analysis} could not start: {Error}")]
    public static partial void LocalJobStartFailed(ILogger logger, string jobId, string project, string workflow, string sample, string analysis, string error);

    [LoggerMessage(EventId = 43, Level = LogLevel.Warning, Message = "Local job {JobId} for {Project}/{Workflow} sample {Sample} analysis {Analysis} was running when the daemon stopped: reported as interrupted.")]
    public static partial void LocalJobInterrupted(ILogger logger, string jobId, string project, string workflow, string sample, string analysis);

    [LoggerMessage(EventId = 44, Level = LogLevel.Warning, Message = "Local job record {Path} cannot be read and is skipped: {Error}")]
    public static partial void LocalRecordUnreadable(ILogger logger, string path, string error);

    [LoggerMessage(EventId = 60, Level = LogLevel.Warning, Message = "Standby: the projects folder {Folder} is locked by another daemon (PID {Pid}); waiting to take over when it ends.")]
    public static partial void StandbyWaiting(ILogger logger, string folder, string pid);

    [LoggerMessage(EventId = 61, Level = LogLevel.Warning, Message = "Took over the projects folder {Folder}: the daemon that held it (PID {Pid}) has ended.")]
    public static partial void StandbyTookOver(ILogger logger, string folder, string pid);

    [LoggerMessage(EventId = 45, Level = LogLevel.Information, Message = "Local job {JobId} for {Project}/{Workflow} sample {Sample} analysis {Analysis} is still running (PID {Pid}) from before the restart: adopted, not started again.")]
    public static partial void LocalJobAdopted(ILogger logger, string jobId, string project, string workflow, string sample, string analysis, int pid);

    [LoggerMessage(EventId = 46, Level = LogLevel.Warning, Message = "Local job {JobId} for {Project}/{Workflow} sample {Sample} analysis {Analysis} timed out after {Seconds} s: killed (Job attempt duration exceeded timeout).")]
    public static partial void LocalJobTimedOut(ILogger logger, string jobId, string project, string workflow, string sample, string analysis, int seconds);

    [LoggerMessage(EventId = 70, Level = LogLevel.Information, Message = "Notifications: {Webhook} ({Format}) hears of {Events}.")]
    public static partial void WebhookConfigured(ILogger logger, string webhook, string format, string events);

    [LoggerMessage(EventId = 71, Level = LogLevel.Warning, Message = "Notifications: {Webhook} did not take a message: {Answer}; trying again in {Wait} (said once until the answer changes; the message waits in the outbox).")]
    public static partial void WebhookFailing(ILogger logger, string webhook, string answer, TimeSpan wait);

    [LoggerMessage(EventId = 72, Level = LogLevel.Information, Message = "Notifications: {Webhook} takes messages again ({Events} events delivered).")]
    public static partial void WebhookRecovered(ILogger logger, string webhook, int events);

    [LoggerMessage(EventId = 73, Level = LogLevel.Error, Message = "Notifications: {Webhook} refused a message with {Answer}: {Events} events dropped (said once per answer; check its URL and format).")]
    public static partial void WebhookRefused(ILogger logger, string webhook, string answer, int events);

    [LoggerMessage(EventId = 74, Level = LogLevel.Warning, Message = "Notifications: {Count} messages in the outbox were for webhooks no longer configured: dropped.")]
    public static partial void NotificationsOrphansDropped(ILogger logger, int count);

    [LoggerMessage(EventId = 75, Level = LogLevel.Error, Message = "Notifications: the events of {What} could not be put in the outbox: {Error}; the next pass tries again.")]
    public static partial void NotificationsNotQueued(ILogger logger, string what, string error);

    [LoggerMessage(EventId = 80, Level = LogLevel.Information, Message = "Status page at {Address} (also /metrics, /healthz, /api/workflows).")]
    public static partial void StatusPageServed(ILogger logger, string address);

    [LoggerMessage(EventId = 81, Level = LogLevel.Warning,
        Message = "Status page at {Address} is exposed beyond this machine (Web:AllowRemote): every request but /healthz needs the bearer token.")]
    public static partial void StatusPageExposed(ILogger logger, string address);

    [LoggerMessage(EventId = 82, Level = LogLevel.Warning,
        Message = "Status page not served: {Url} is in use (another daemon?); trying again every {Interval}. Set Batchkeeper:Web:Url to another port, or Batchkeeper:Web:Enabled=false.")]
    public static partial void StatusPageAddressInUse(ILogger logger, string url, string interval);

    [LoggerMessage(EventId = 83, Level = LogLevel.Warning, Message = "Status page: the log stream {Stream} could not be read from CloudWatch Logs: {Error}")]
    public static partial void StatusPageLogUnread(ILogger logger, string stream, string error);

    [LoggerMessage(EventId = 86, Level = LogLevel.Error,
        Message = "Status page not served: cannot listen on {Url}: {Reason}. The daemon goes on without it; set Batchkeeper:Web:Url to an address it can use, or Batchkeeper:Web:Enabled=false.")]
    public static partial void StatusPageNotServed(ILogger logger, string url, string reason);
}

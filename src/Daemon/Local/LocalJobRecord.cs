using Batchkeeper.Core.Ports;

namespace Batchkeeper.Daemon.Local;

/// <summary>A local job as kept on disk (<c>jobs/&lt;id&gt;.json</c> under the work directory), so it survives restarts.</summary>
public sealed class LocalJobRecord
{
    public string JobId { get; set; } = "";
    public string JobName { get; set; } = "";
    public string Queue { get; set; } = "";
    public string JobDefinition { get; set; } = "";
    public List<string> Command { get; set; } = [];
    public Dictionary<string, string> Environment { get; set; } = [];
    public List<string> DependsOn { get; set; } = [];
    public string WorkingDirectory { get; set; } = "";
    public int? TimeoutSeconds { get; set; }
    public int? Vcpus { get; set; }
    public int? MemoryMiB { get; set; }
    public JobContext Context { get; set; } = new("", "", "", "");
    public JobStatus Status { get; set; }
    public string? StatusReason { get; set; }
    public string? ContainerReason { get; set; }
    public int? ExitCode { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? StoppedAt { get; set; }
    public string LogPath { get; set; } = "";

    /// <summary>The PID of the job's supervisor (the leader of its session and process group), once it runs.</summary>
    public int? Pid { get; set; }

    /// <summary>That process's start time in clock ticks since boot (<c>/proc/&lt;pid&gt;/stat</c>): a reused PID is not it.</summary>
    public long? ProcessStartTime { get; set; }

    /// <summary>A record larger than this is not one the daemon wrote.</summary>
    public const long MaxBytes = 4 * 1024 * 1024;

    /// <summary>
    /// Why a record read from disk cannot be used (null when it can): JSON gives nulls and empty lists that the
    /// daemon never writes, e.g. <c>{"jobId": null}</c> or <c>"command": []</c>, and acting on them would stop the backend.
    /// </summary>
    public static string? Problem(LocalJobRecord record, string fileId)
    {
        var missing = new List<string>();
        if (string.IsNullOrEmpty(record.JobId))
        {
            missing.Add("jobId");
        }

        if (string.IsNullOrEmpty(record.JobName))
        {
            missing.Add("jobName");
        }

        if (record.Queue is null)
        {
            missing.Add("queue");
        }

        if (record.Command is not { Count: > 0 } || record.Command.Any(arg => arg is null) || string.IsNullOrEmpty(record.Command[0]))
        {
            missing.Add("command (a non-empty list of strings)");
        }

        if (record.Environment is null || record.DependsOn is null || record.DependsOn.Any(d => d is null))
        {
            missing.Add("environment and dependsOn");
        }

        if (string.IsNullOrEmpty(record.WorkingDirectory))
        {
            missing.Add("workingDirectory");
        }

        if (record.Context is null || record.Context.Project is null || record.Context.Workflow is null || record.Context.Sample is null || record.Context.Analysis is null)
        {
            missing.Add("context");
        }

        if (string.IsNullOrEmpty(record.LogPath))
        {
            missing.Add("logPath");
        }

        if (missing.Count > 0)
        {
            return $"not a usable job record: {string.Join(", ", missing)} missing or empty";
        }

        return record.JobId == fileId ? null : "its jobId does not match its file name";
    }

    public JobDetail ToDetail() => new(JobId, JobName, Status, StatusReason, ContainerReason, ExitCode, CreatedAt, StartedAt, StoppedAt, LogPath, Vcpus, MemoryMiB);
}

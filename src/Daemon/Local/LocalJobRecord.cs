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

    public JobDetail ToDetail() => new(JobId, JobName, Status, StatusReason, ContainerReason, ExitCode, CreatedAt, StartedAt, StoppedAt, LogPath, Vcpus, MemoryMiB);
}

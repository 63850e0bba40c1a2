using Batchkeeper.Core.Planning;

namespace Batchkeeper.Core.Ports;

/// <summary>Batch's job states, in the order a job goes through them.</summary>
public enum JobStatus
{
    Submitted,
    Pending,
    Runnable,
    Starting,
    Running,
    Succeeded,
    Failed,
}

public static class JobStatuses
{
    public static bool IsActive(this JobStatus status) => status is not (JobStatus.Succeeded or JobStatus.Failed);

    /// <summary>Batch's spelling: <c>RUNNABLE</c>.</summary>
    public static string ToWire(this JobStatus status) => status.ToString().ToUpperInvariant();

    public static JobStatus Parse(string wire) => Enum.Parse<JobStatus>(wire, ignoreCase: true);
}

/// <summary>Who a job is for; backends use it for their logs, records and events, never for identity.</summary>
/// <param name="WorkflowFile">The workflow file's full path.</param>
public sealed record JobContext(string Project, string Workflow, string Sample, string Analysis, string WorkflowFile = "");

/// <summary>
/// A backend that can tell when a job started or finished, so the workflow is reconciled at once rather than at the next
/// tick: its snapshot shows the job running within moments of its start, and the next analysis starts at its end.
/// </summary>
public interface IJobEvents
{
    event Action<JobContext>? JobStarted;

    event Action<JobContext>? JobFinished;
}

/// <summary>One job to submit, fully expanded.</summary>
/// <param name="Job">What it runs with, <c>{attempt}</c> filled in.</param>
/// <param name="DependsOn">Job ids that must succeed first (Batch <c>dependsOn</c>, SEQUENTIAL).</param>
/// <param name="WorkingDirectory">The project folder: where the local backend runs the command.</param>
public sealed record JobSubmission(
    string JobName,
    JobTemplate Job,
    IReadOnlyList<string> DependsOn,
    string WorkingDirectory,
    JobContext Context);

/// <summary>What the backend knows of one job (Batch DescribeJobs).</summary>
public sealed record JobDetail(
    string JobId,
    string JobName,
    JobStatus Status,
    string? StatusReason,
    string? ContainerReason,
    int? ExitCode,
    DateTimeOffset? CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? StoppedAt,
    string? LogStream,
    int? Vcpus,
    int? MemoryMiB);

/// <summary>A line of a job listing (Batch ListJobs).</summary>
public sealed record JobSummary(string JobId, string JobName, JobStatus Status, DateTimeOffset? CreatedAt);

/// <summary>The backend refused a submission for a reason that retrying cannot fix (unknown queue, bad definition).</summary>
public sealed class JobRejectedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Where jobs run: AWS Batch, or local processes.</summary>
public interface IJobBackend
{
    /// <summary><c>Aws</c> or <c>Local</c>; written into snapshots.</summary>
    string Name { get; }

    /// <summary>Submits one job and returns its id.</summary>
    /// <exception cref="JobRejectedException">The submission can never succeed as it is.</exception>
    Task<string> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken);

    /// <summary>Describes jobs by id. Unknown ids are left out (Batch may not list a job just submitted).</summary>
    Task<IReadOnlyList<JobDetail>> DescribeAsync(IReadOnlyCollection<string> jobIds, CancellationToken cancellationToken);

    /// <summary>Every job in <paramref name="queue"/> whose name starts with <paramref name="namePrefix"/>, in any state.</summary>
    Task<IReadOnlyList<JobSummary>> ListByNamePrefixAsync(string queue, string namePrefix, CancellationToken cancellationToken);

    /// <summary>Stops a job in any active state; <paramref name="reason"/> becomes its status reason.</summary>
    Task TerminateAsync(string jobId, string reason, CancellationToken cancellationToken);
}

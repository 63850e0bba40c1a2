using Batchkeeper.Core.Ports;

namespace Batchkeeper.Daemon.Local;

/// <summary>
/// Runs jobs as local processes with Batch's state machine (<see cref="LocalJobScheduler"/>). The command runs in the
/// project folder; <c>Ref::name</c> in it is replaced by the parameter, as Batch does. Every record is written to disk
/// before it is acted on (<see cref="LocalJobStore"/>), so a restart loses nothing: queued jobs carry on, and jobs whose
/// process died with the daemon are reported FAILED as interrupted (resubmitted for free).
/// </summary>
public sealed class LocalJobBackend(LocalJobStore store, LocalJobScheduler scheduler, TimeProvider clock) : IJobBackend, IJobEvents
{
    public string Name => "Local";

    /// <summary>Raised (outside the backend's lock) when a job's command starts to run.</summary>
    public event Action<JobContext>? JobStarted
    {
        add => scheduler.JobStarted += value;
        remove => scheduler.JobStarted -= value;
    }

    /// <summary>Raised (outside the backend's lock) when a job reaches SUCCEEDED or FAILED.</summary>
    public event Action<JobContext>? JobFinished
    {
        add => scheduler.JobFinished += value;
        remove => scheduler.JobFinished -= value;
    }

    public Task<string> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken)
    {
        var job = submission.Job;
        if (job.Command is not { Count: > 0 } command)
        {
            throw new JobRejectedException(
                $"the local backend runs an analysis's 'command', and analysis '{submission.Context.Analysis}' has none");
        }

        var id = Guid.NewGuid().ToString();
        var record = new LocalJobRecord
        {
            JobId = id,
            JobName = submission.JobName,
            Queue = job.Queue,
            JobDefinition = job.JobDefinition,
            Command = command.Select(arg => LocalProcessRunner.SubstituteParameters(arg, job.Parameters)).ToList(),
            Environment = new Dictionary<string, string>(job.Environment),
            DependsOn = [.. submission.DependsOn],
            WorkingDirectory = submission.WorkingDirectory,
            TimeoutSeconds = job.TimeoutSeconds,
            Vcpus = job.Vcpus,
            MemoryMiB = job.MemoryMiB,
            Context = submission.Context,
            Status = JobStatus.Submitted,
            CreatedAt = clock.GetUtcNow(),
            LogPath = store.LogPathFor(id),
        };

        lock (store.Gate)
        {
            store.Add(record);
        }

        scheduler.Wake();
        return Task.FromResult(id);
    }

    public Task<IReadOnlyList<JobDetail>> DescribeAsync(IReadOnlyCollection<string> jobIds, CancellationToken cancellationToken)
    {
        lock (store.Gate)
        {
            IReadOnlyList<JobDetail> details = jobIds.Select(store.Find).OfType<LocalJobRecord>().Select(r => r.ToDetail()).ToArray();
            return Task.FromResult(details);
        }
    }

    public Task<IReadOnlyList<JobSummary>> ListByNamePrefixAsync(string queue, string namePrefix, CancellationToken cancellationToken)
    {
        lock (store.Gate)
        {
            IReadOnlyList<JobSummary> jobs = store.All
                .Where(j => j.Queue == queue && j.JobName.StartsWith(namePrefix, StringComparison.Ordinal))
                .Select(j => new JobSummary(j.JobId, j.JobName, j.Status, j.CreatedAt))
                .ToArray();
            return Task.FromResult(jobs);
        }
    }

    public Task TerminateAsync(string jobId, string reason, CancellationToken cancellationToken)
    {
        lock (store.Gate)
        {
            if (store.Find(jobId) is { } record && record.Status.IsActive())
            {
                scheduler.Terminate(record, reason);
            }
        }

        scheduler.Wake();
        return Task.CompletedTask;
    }
}

using Batchkeeper.Core.Ports;

namespace Batchkeeper.Core.Tests.Fakes;

/// <summary>One job the fake backend holds; a test changes its fields to play Batch.</summary>
public sealed class FakeJob
{
    public required string JobId { get; init; }
    public required JobSubmission Submission { get; init; }
    public string JobName => Submission.JobName;
    public string Queue => Submission.Job.Queue;
    public JobStatus Status { get; set; } = JobStatus.Submitted;
    public string? StatusReason { get; set; }
    public string? ContainerReason { get; set; }
    public int? ExitCode { get; set; }
    public int? MemoryMiB { get; set; }
    public int? Vcpus { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? StoppedAt { get; set; }
    public string? LogStream { get; set; }

    /// <summary>When true, DescribeAsync leaves the job out, as Batch may for a job just submitted.</summary>
    public bool HiddenFromDescribe { get; set; }

    public JobDetail ToDetail() => new(
        JobId, JobName, Status, StatusReason, ContainerReason, ExitCode, CreatedAt, StartedAt, StoppedAt, LogStream, Vcpus, MemoryMiB);
}

/// <summary>
/// An in-memory <see cref="IJobBackend"/>: records every call, hands out ids <c>job-1</c>, <c>job-2</c>, …,
/// and lets a test set each job's state. Thread-safe, because the reconciler submits chains in parallel.
/// </summary>
public sealed class FakeJobBackend(TimeProvider clock) : IJobBackend
{
    private readonly Lock _gate = new();
    private readonly List<FakeJob> _jobs = [];
    private readonly List<JobSubmission> _submitCalls = [];
    private readonly List<IReadOnlyList<string>> _describeCalls = [];
    private readonly List<(string Queue, string Prefix)> _listCalls = [];
    private readonly List<(string JobId, string Reason)> _terminateCalls = [];
    private readonly List<(Func<JobSubmission, bool> When, Func<JobSubmission, Exception> Error)> _submitFailures = [];

    public string Name => "Fake";

    /// <summary>Every SubmitAsync call, including those that threw.</summary>
    public IReadOnlyList<JobSubmission> SubmitCalls => Locked(() => _submitCalls.ToArray());

    /// <summary>The ids asked for, one list per DescribeAsync call.</summary>
    public IReadOnlyList<IReadOnlyList<string>> DescribeCalls => Locked(() => _describeCalls.ToArray());

    public IReadOnlyList<(string Queue, string Prefix)> ListCalls => Locked(() => _listCalls.ToArray());

    public IReadOnlyList<(string JobId, string Reason)> TerminateCalls => Locked(() => _terminateCalls.ToArray());

    /// <summary>Jobs accepted so far, in submission order.</summary>
    public IReadOnlyList<FakeJob> Jobs => Locked(() => _jobs.ToArray());

    public FakeJob Job(string jobId) => Locked(() => _jobs.Single(j => j.JobId == jobId));

    /// <summary>Makes SubmitAsync throw for submissions that match, until <see cref="ClearSubmitFailures"/>.</summary>
    public void FailSubmissions(Func<JobSubmission, bool> when, Func<JobSubmission, Exception> error) =>
        Locked(() => _submitFailures.Add((when, error)));

    /// <summary>Makes SubmitAsync refuse matching submissions for good, as Batch does for an unknown queue.</summary>
    public void RejectSubmissions(Func<JobSubmission, bool> when, string message) =>
        FailSubmissions(when, _ => new JobRejectedException(message));

    public void ClearSubmitFailures() => Locked(() => _submitFailures.Clear());

    private readonly List<Func<JobSubmission, bool>> _lostAnswers = [];

    /// <summary>Matching submissions create their job, then throw as if the answer were lost (a timeout after Batch acted).</summary>
    public void LoseAnswers(Func<JobSubmission, bool> when) => Locked(() => _lostAnswers.Add(when));

    public void ClearLostAnswers() => Locked(() => _lostAnswers.Clear());

    public void SetRunning(string jobId) => Update(jobId, job =>
    {
        job.Status = JobStatus.Running;
        job.StartedAt = clock.GetUtcNow();
    });

    public void Succeed(string jobId) => Update(jobId, job =>
    {
        job.StartedAt ??= clock.GetUtcNow();
        job.Status = JobStatus.Succeeded;
        job.ExitCode = 0;
        job.StoppedAt = clock.GetUtcNow();
    });

    /// <summary>Fails a job as Batch reports it: status reason, container reason, exit code and, when given, the memory it ran with.</summary>
    public void Fail(string jobId, string? statusReason, string? containerReason = null, int? exitCode = null, int? memoryMiB = null) =>
        Update(jobId, job =>
        {
            job.StartedAt ??= clock.GetUtcNow();
            job.Status = JobStatus.Failed;
            job.StatusReason = statusReason;
            job.ContainerReason = containerReason;
            job.ExitCode = exitCode;
            job.MemoryMiB = memoryMiB ?? job.MemoryMiB;
            job.StoppedAt = clock.GetUtcNow();
        });

    /// <summary>Leaves a job RUNNABLE with a status reason, as Batch does when no compute environment can run it.</summary>
    public void SetRunnable(string jobId, string? statusReason) => Update(jobId, job =>
    {
        job.Status = JobStatus.Runnable;
        job.StatusReason = statusReason;
    });

    public void Hide(string jobId, bool hidden = true) => Update(jobId, job => job.HiddenFromDescribe = hidden);

    public Task<string> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _submitCalls.Add(submission);
            foreach (var (when, error) in _submitFailures)
            {
                if (when(submission))
                {
                    throw error(submission);
                }
            }

            var job = new FakeJob
            {
                JobId = $"job-{_jobs.Count + 1}",
                Submission = submission,
                CreatedAt = clock.GetUtcNow(),
                MemoryMiB = submission.Job.MemoryMiB,
                Vcpus = submission.Job.Vcpus,
            };
            _jobs.Add(job);
            if (_lostAnswers.Any(when => when(submission)))
            {
                throw new TimeoutException($"no answer to SubmitJob {submission.JobName}");
            }

            return Task.FromResult(job.JobId);
        }
    }

    public Task<IReadOnlyList<JobDetail>> DescribeAsync(IReadOnlyCollection<string> jobIds, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _describeCalls.Add([.. jobIds]);
            IReadOnlyList<JobDetail> details = _jobs
                .Where(j => jobIds.Contains(j.JobId) && !j.HiddenFromDescribe)
                .Select(j => j.ToDetail())
                .ToArray();
            return Task.FromResult(details);
        }
    }

    /// <summary>Runs just before each listing answers: what happens between a pass's output check and its listing.</summary>
    public Action? BeforeList { get; set; }

    public Task<IReadOnlyList<JobSummary>> ListByNamePrefixAsync(string queue, string namePrefix, CancellationToken cancellationToken)
    {
        BeforeList?.Invoke();
        lock (_gate)
        {
            _listCalls.Add((queue, namePrefix));
            IReadOnlyList<JobSummary> jobs = _jobs
                .Where(j => j.Queue == queue && j.JobName.StartsWith(namePrefix, StringComparison.Ordinal))
                .Select(j => new JobSummary(j.JobId, j.JobName, j.Status, j.CreatedAt))
                .ToArray();
            return Task.FromResult(jobs);
        }
    }

    /// <summary>Like Batch: an active job becomes FAILED with the reason; a finished job is left as it is.</summary>
    public Task TerminateAsync(string jobId, string reason, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _terminateCalls.Add((jobId, reason));
            var job = _jobs.Single(j => j.JobId == jobId);
            if (job.Status.IsActive())
            {
                job.Status = JobStatus.Failed;
                job.StatusReason = reason;
                job.StoppedAt = clock.GetUtcNow();
            }

            return Task.CompletedTask;
        }
    }

    private void Update(string jobId, Action<FakeJob> change)
    {
        lock (_gate)
        {
            change(_jobs.Single(j => j.JobId == jobId));
        }
    }

    private T Locked<T>(Func<T> read)
    {
        lock (_gate)
        {
            return read();
        }
    }

    private void Locked(Action action)
    {
        lock (_gate)
        {
            action();
        }
    }
}

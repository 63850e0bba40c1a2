using System.Globalization;
using Batchkeeper.Core.Ports;
using Batchkeeper.Daemon.Aws.Batch;
using Batchkeeper.Daemon.Aws.Batch.Model;
using Batchkeeper.Daemon.Aws.JobStates;
using Microsoft.Extensions.Logging;
using JobDetail = Batchkeeper.Core.Ports.JobDetail;
using JobSummary = Batchkeeper.Core.Ports.JobSummary;

namespace Batchkeeper.Daemon.Aws;

/// <summary>
/// Jobs on AWS Batch. Submissions carry <c>dependsOn</c>, resources as <c>resourceRequirements</c> (never the
/// deprecated top-level vcpus/memory), the command, environment, timeout and tags. Job states come from
/// <see cref="JobStateCache"/> where it knows them (job-state events, the SubmitJob answer), else from DescribeJobs
/// calls of all workflows reconciling at the same moment, merged (<see cref="DescribeBatcher"/>) into calls of at most
/// 100 ids, or from a listing of the queue when that is cheaper (<see cref="QueuePolling"/>).
/// </summary>
public sealed class AwsBatchJobBackend : IJobBackend
{
    /// <summary>Batch's limit of ids per DescribeJobs call.</summary>
    public const int DescribeLimit = 100;

    private readonly IBatchClient _client;
    private readonly DescribeBatcher _describe;
    private readonly TimeProvider _clock;
    private long _forgotAt;

    /// <param name="describeWindow">How long DescribeJobs requests wait for others to merge with. Default 20 ms.</param>
    /// <param name="passesInFlight">
    /// How many passes are running: when given, a request waits (up to a second) until every running pass has asked,
    /// so that the passes of all due workflows share calls of 100 ids.
    /// </param>
    /// <param name="describeMaxWait">With <paramref name="passesInFlight"/>: the longest a request waits for the others. Default 1 s.</param>
    /// <param name="clock">The clock the DescribeJobs window and longest wait are measured on. Default the system's.</param>
    /// <param name="states">The job states known, which answer what they can (default: a cache of its own, polling).</param>
    /// <param name="logger">Where the polling choice of each queue is said.</param>
    public AwsBatchJobBackend(
        IBatchClient client,
        TimeSpan? describeWindow = null,
        Func<int>? passesInFlight = null,
        TimeSpan? describeMaxWait = null,
        TimeProvider? clock = null,
        JobStateCache? states = null,
        ILogger? logger = null)
    {
        _client = client;
        _clock = clock ?? TimeProvider.System;
        States = states ?? new JobStateCache(_clock);
        _describe = new DescribeBatcher(
            DescribeChunkAsync, describeWindow ?? TimeSpan.FromMilliseconds(20), passesInFlight, describeMaxWait, _clock);
        Polling = new QueuePolling(
            client, States, (ids, ct) => _describe.DescribeAsync([.. ids], ct), (ids, ct) => DescribeChunkAsync(ids, ct), _clock, logger);
        _forgotAt = _clock.GetTimestamp();
    }

    /// <summary>What is known of every job asked about: answers DescribeAsync where it can.</summary>
    public JobStateCache States { get; }

    /// <summary>How each queue is polled (ListJobs or DescribeJobs).</summary>
    internal QueuePolling Polling { get; }

    public string Name => "Aws";

    public async Task<string> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken)
    {
        var resources = new List<ResourceRequirement>();
        if (submission.Job.Vcpus is { } vcpus)
        {
            resources.Add(new ResourceRequirement { Type = ResourceType.Vcpu, Value = vcpus.ToString(CultureInfo.InvariantCulture) });
        }

        if (submission.Job.MemoryMiB is { } memory)
        {
            resources.Add(new ResourceRequirement { Type = ResourceType.Memory, Value = memory.ToString(CultureInfo.InvariantCulture) });
        }

        var overrides = new ContainerOverrides
        {
            Command = submission.Job.Command is { Count: > 0 } command ? command : null,
            Environment = submission.Job.Environment.Count > 0
                ? submission.Job.Environment.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => new EnvironmentVariable { Name = kv.Key, Value = kv.Value }).ToArray()
                : null,
            ResourceRequirements = resources.Count > 0 ? resources : null,
        };

        var request = new SubmitJobRequest
        {
            JobName = submission.JobName,
            JobQueue = submission.Job.Queue,
            JobDefinition = submission.Job.JobDefinition,
            DependsOn = submission.DependsOn.Count > 0 ? submission.DependsOn.Select(id => new JobDependency { JobId = id }).ToArray() : null,
            Parameters = submission.Job.Parameters.Count > 0 ? submission.Job.Parameters : null,
            ContainerOverrides = overrides,
            Timeout = submission.Job.TimeoutSeconds is { } seconds ? new JobTimeout { AttemptDurationSeconds = seconds } : null,
            Tags = submission.Job.Tags.Count > 0 ? submission.Job.Tags : null,
            PropagateTags = submission.Job.Tags.Count > 0 ? true : null,
        };

        string jobId;
        try
        {
            jobId = (await _client.SubmitJobAsync(request, cancellationToken)).JobId;
        }
        catch (BatchServiceException e) when (e.IsClientError && !e.IsThrottling && !e.IsAuthorizationError)
        {
            // An unknown queue or job definition, a bad parameter: submitting again cannot help. Refused credentials or
            // permissions are not the job's fault: they fail the pass, and the same submission succeeds once renewed.
            throw new JobRejectedException($"{e.ErrorCode}: {e.ServiceMessage}", e);
        }

        // No event is sent for SUBMITTED: this answer is its record.
        States.ObserveSubmitted(jobId, submission.JobName, submission.Job.Queue);
        return jobId;
    }

    /// <summary>
    /// The states of these jobs: what <see cref="States"/> can answer without asking Batch, and for the rest DescribeJobs
    /// (merged with the other passes' into calls of 100 ids) or a listing of their queue, whichever costs fewer
    /// requests (<see cref="QueuePolling"/>). Every answer goes through <see cref="States"/>, so none is older than
    /// one given before.
    /// </summary>
    public async Task<IReadOnlyList<JobDetail>> DescribeAsync(IReadOnlyCollection<string> jobIds, CancellationToken cancellationToken)
    {
        ForgetNowAndThen();
        var answered = new Dictionary<string, JobDetail>(StringComparer.Ordinal);
        var refresh = new List<string>();
        States.Answer(jobIds, answered, refresh);
        if (refresh.Count > 0)
        {
            var describe = new List<string>();
            var listed = Polling.Route(refresh, describe);
            var refreshing = listed.Select(queue => Polling.RefreshAsync(queue.Key, queue.Value, cancellationToken)).ToList();
            if (describe.Count > 0)
            {
                refreshing.Add(_describe.DescribeAsync(describe, cancellationToken));
            }

            await Task.WhenAll(refreshing);
            States.AnswerRefreshed(refresh, answered);
        }

        return [.. jobIds.Distinct(StringComparer.Ordinal).Where(answered.ContainsKey).Select(id => answered[id])];
    }

    /// <summary>DescribeJobs in calls of 100 ids, every job answered observed by <see cref="States"/>.</summary>
    private async Task<IReadOnlyList<Batch.Model.JobDetail>> DescribeChunkAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken)
    {
        var details = new List<Batch.Model.JobDetail>(jobIds.Count);
        foreach (var chunk in jobIds.Chunk(DescribeLimit))
        {
            var response = await _client.DescribeJobsAsync(new DescribeJobsRequest { Jobs = chunk }, cancellationToken);
            foreach (var job in response.Jobs)
            {
                States.ObserveDescribed(job);
            }

            details.AddRange(response.Jobs);
        }

        return details;
    }

    /// <summary>Jobs nobody asks about any more (their workflow removed) are forgotten, looked at every ten minutes.</summary>
    private void ForgetNowAndThen()
    {
        var last = Interlocked.Read(ref _forgotAt);
        if (_clock.GetElapsedTime(last) >= TimeSpan.FromMinutes(10) && Interlocked.CompareExchange(ref _forgotAt, _clock.GetTimestamp(), last) == last)
        {
            States.Forget();
        }
    }

    public async Task<IReadOnlyList<JobSummary>> ListByNamePrefixAsync(string queue, string namePrefix, CancellationToken cancellationToken)
    {
        // With a filter, Batch returns at most 100 jobs a page.
        var request = new ListJobsRequest { JobQueue = queue, Filters = [KeyValuesPair.JobName(namePrefix + "*")], MaxResults = 100 };
        var jobs = new List<JobSummary>();
        await foreach (var job in _client.ListAllJobsAsync(request, cancellationToken))
        {
            // The JOB_NAME filter matches regardless of case; Batchkeeper's names are exact.
            if (job.Status is { } status && job.JobName.StartsWith(namePrefix, StringComparison.Ordinal))
            {
                jobs.Add(new JobSummary(job.JobId, job.JobName, JobStatuses.Parse(status), job.CreatedAt));
            }
        }

        return jobs;
    }

    public async Task TerminateAsync(string jobId, string reason, CancellationToken cancellationToken) =>
        await _client.TerminateJobAsync(new TerminateJobRequest { JobId = jobId, Reason = reason }, cancellationToken);

    internal static JobDetail ToDetail(Batch.Model.JobDetail job)
    {
        var container = job.Container;
        var lastAttempt = job.Attempts.Count > 0 ? job.Attempts[^1].Container : null;
        int? Resource(string type) =>
            container?.ResourceRequirements.FirstOrDefault(r => r.Type == type) is { } r && int.TryParse(r.Value, CultureInfo.InvariantCulture, out var v)
                ? v
                : null;

        return new JobDetail(
            job.JobId,
            job.JobName,
            JobStatuses.Parse(job.Status),
            job.StatusReason,
            container?.Reason ?? lastAttempt?.Reason,
            container?.ExitCode ?? lastAttempt?.ExitCode,
            job.CreatedAt,
            job.StartedAt,
            job.StoppedAt,
            container?.LogStreamName ?? lastAttempt?.LogStreamName,
            Resource(ResourceType.Vcpu) ?? container?.Vcpus,
            Resource(ResourceType.Memory) ?? container?.Memory);
    }
}

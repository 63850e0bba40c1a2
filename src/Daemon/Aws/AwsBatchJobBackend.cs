using System.Globalization;
using Batchkeeper.Core.Ports;
using Batchkeeper.Daemon.Aws.Batch;
using Batchkeeper.Daemon.Aws.Batch.Model;
using JobDetail = Batchkeeper.Core.Ports.JobDetail;
using JobSummary = Batchkeeper.Core.Ports.JobSummary;

namespace Batchkeeper.Daemon.Aws;

/// <summary>
/// Jobs on AWS Batch. Submissions carry <c>dependsOn</c>, resources as <c>resourceRequirements</c> (never the
/// deprecated top-level vcpus/memory), the command, environment, timeout and tags. DescribeJobs calls of all
/// workflows reconciling at the same moment are merged (<see cref="DescribeBatcher"/>) into calls of at most
/// 100 ids.
/// </summary>
public sealed class AwsBatchJobBackend : IJobBackend
{
    /// <summary>Batch's limit of ids per DescribeJobs call.</summary>
    public const int DescribeLimit = 100;

    private readonly IBatchClient _client;
    private readonly DescribeBatcher _describe;

    /// <param name="describeWindow">How long DescribeJobs requests wait for others to merge with. Default 20 ms.</param>
    /// <param name="passesInFlight">
    /// How many passes are running: when given, a request waits (up to a second) until every running pass has asked,
    /// so that the passes of all due workflows share calls of 100 ids.
    /// </param>
    /// <param name="describeMaxWait">With <paramref name="passesInFlight"/>: the longest a request waits for the others. Default 1 s.</param>
    /// <param name="clock">The clock the DescribeJobs window and longest wait are measured on. Default the system's.</param>
    public AwsBatchJobBackend(
        IBatchClient client,
        TimeSpan? describeWindow = null,
        Func<int>? passesInFlight = null,
        TimeSpan? describeMaxWait = null,
        TimeProvider? clock = null)
    {
        _client = client;
        _describe = new DescribeBatcher(
            DescribeChunkAsync, describeWindow ?? TimeSpan.FromMilliseconds(20), passesInFlight, describeMaxWait, clock ?? TimeProvider.System);
    }

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

        try
        {
            return (await _client.SubmitJobAsync(request, cancellationToken)).JobId;
        }
        catch (BatchServiceException e) when (e.IsClientError && !e.IsThrottling && !e.IsAuthorizationError)
        {
            // An unknown queue or job definition, a bad parameter: submitting again cannot help. Refused credentials or
            // permissions are not the job's fault: they fail the pass, and the same submission succeeds once renewed.
            throw new JobRejectedException($"{e.ErrorCode}: {e.ServiceMessage}", e);
        }
    }

    public Task<IReadOnlyList<JobDetail>> DescribeAsync(IReadOnlyCollection<string> jobIds, CancellationToken cancellationToken) =>
        _describe.DescribeAsync(jobIds, cancellationToken);

    private async Task<IReadOnlyList<JobDetail>> DescribeChunkAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken)
    {
        var details = new List<JobDetail>(jobIds.Count);
        foreach (var chunk in jobIds.Chunk(DescribeLimit))
        {
            var response = await _client.DescribeJobsAsync(new DescribeJobsRequest { Jobs = chunk }, cancellationToken);
            details.AddRange(response.Jobs.Select(ToDetail));
        }

        return details;
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

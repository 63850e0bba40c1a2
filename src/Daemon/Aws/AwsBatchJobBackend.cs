using System.Globalization;
using Batchkeeper.Core.Ports;
using Port = Batchkeeper.Core.Ports;

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

    public AwsBatchJobBackend(IBatchClient client, TimeSpan? describeWindow = null)
    {
        _client = client;
        _describe = new DescribeBatcher(DescribeChunkAsync, describeWindow ?? TimeSpan.FromMilliseconds(20));
    }

    public string Name => "Aws";

    public async Task<string> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken)
    {
        var resources = new List<ResourceRequirement>();
        if (submission.Vcpus is { } vcpus)
        {
            resources.Add(new ResourceRequirement { Type = ResourceType.Vcpu, Value = vcpus.ToString(CultureInfo.InvariantCulture) });
        }

        if (submission.MemoryMiB is { } memory)
        {
            resources.Add(new ResourceRequirement { Type = ResourceType.Memory, Value = memory.ToString(CultureInfo.InvariantCulture) });
        }

        var overrides = new ContainerOverrides
        {
            Command = submission.Command is { Count: > 0 } command ? command : null,
            Environment = submission.Environment.Count > 0
                ? submission.Environment.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => new EnvironmentVariable { Name = kv.Key, Value = kv.Value }).ToArray()
                : null,
            ResourceRequirements = resources.Count > 0 ? resources : null,
        };

        var request = new SubmitJobRequest
        {
            JobName = submission.JobName,
            JobQueue = submission.Queue,
            JobDefinition = submission.JobDefinition,
            DependsOn = submission.DependsOn.Count > 0 ? submission.DependsOn.Select(id => new JobDependency { JobId = id }).ToArray() : null,
            Parameters = submission.Parameters.Count > 0 ? submission.Parameters : null,
            ContainerOverrides = overrides,
            Timeout = submission.TimeoutSeconds is { } seconds ? new JobTimeout { AttemptDurationSeconds = seconds } : null,
            Tags = submission.Tags.Count > 0 ? submission.Tags : null,
            PropagateTags = submission.Tags.Count > 0 ? true : null,
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

    public Task<IReadOnlyList<Port.JobDetail>> DescribeAsync(IReadOnlyCollection<string> jobIds, CancellationToken cancellationToken) =>
        _describe.DescribeAsync(jobIds, cancellationToken);

    private async Task<IReadOnlyList<Port.JobDetail>> DescribeChunkAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken)
    {
        var details = new List<Port.JobDetail>(jobIds.Count);
        foreach (var chunk in jobIds.Chunk(DescribeLimit))
        {
            var response = await _client.DescribeJobsAsync(new DescribeJobsRequest { Jobs = chunk }, cancellationToken);
            details.AddRange(response.Jobs.Select(ToDetail));
        }

        return details;
    }

    public async Task<IReadOnlyList<Port.JobSummary>> ListByNamePrefixAsync(string queue, string namePrefix, CancellationToken cancellationToken)
    {
        // With a filter, Batch returns at most 100 jobs a page.
        var request = new ListJobsRequest { JobQueue = queue, Filters = [KeyValuesPair.JobName(namePrefix + "*")], MaxResults = 100 };
        var jobs = new List<Port.JobSummary>();
        await foreach (var job in _client.ListAllJobsAsync(request, cancellationToken))
        {
            // The JOB_NAME filter matches regardless of case; Batchkeeper's names are exact.
            if (job.Status is { } status && job.JobName.StartsWith(namePrefix, StringComparison.Ordinal))
            {
                jobs.Add(new Port.JobSummary(job.JobId, job.JobName, JobStatuses.Parse(status), job.CreatedAt));
            }
        }

        return jobs;
    }

    public async Task TerminateAsync(string jobId, string reason, CancellationToken cancellationToken) =>
        await _client.TerminateJobAsync(new TerminateJobRequest { JobId = jobId, Reason = reason }, cancellationToken);

    internal static Port.JobDetail ToDetail(JobDetail job)
    {
        var container = job.Container;
        var lastAttempt = job.Attempts.Count > 0 ? job.Attempts[^1].Container : null;
        int? Resource(string type) =>
            container?.ResourceRequirements.FirstOrDefault(r => r.Type == type) is { } r && int.TryParse(r.Value, CultureInfo.InvariantCulture, out var v)
                ? v
                : null;

        return new Port.JobDetail(
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

/// <summary>
/// Merges DescribeJobs requests that arrive within a short window (passes of many workflows run at once)
/// into one set of calls, each of at most 100 ids, and hands every caller the jobs it asked for.
/// </summary>
internal sealed class DescribeBatcher(Func<IReadOnlyList<string>, CancellationToken, Task<IReadOnlyList<Port.JobDetail>>> describe, TimeSpan window)
{
    private readonly object _gate = new();
    private List<(IReadOnlyCollection<string> Ids, TaskCompletionSource<IReadOnlyList<Port.JobDetail>> Done)> _waiting = [];
    private bool _flushScheduled;

    public async Task<IReadOnlyList<Port.JobDetail>> DescribeAsync(IReadOnlyCollection<string> jobIds, CancellationToken cancellationToken)
    {
        if (jobIds.Count == 0)
        {
            return [];
        }

        var done = new TaskCompletionSource<IReadOnlyList<Port.JobDetail>>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            // Every request waits out the window, so the ids of all of them are cut into as few calls as possible.
            _waiting.Add((jobIds, done));
            if (!_flushScheduled)
            {
                _flushScheduled = true;
                _ = FlushLaterAsync();
            }
        }

        return await done.Task.WaitAsync(cancellationToken);
    }

    private async Task FlushLaterAsync()
    {
        await Task.Delay(window);
        await FlushAsync();
    }

    private async Task FlushAsync()
    {
        List<(IReadOnlyCollection<string> Ids, TaskCompletionSource<IReadOnlyList<Port.JobDetail>> Done)> batch;
        lock (_gate)
        {
            batch = _waiting;
            _waiting = [];
            _flushScheduled = false;
        }

        if (batch.Count == 0)
        {
            return;
        }

        try
        {
            var ids = batch.SelectMany(b => b.Ids).Distinct(StringComparer.Ordinal).ToArray();
            var found = (await describe(ids, CancellationToken.None)).ToDictionary(d => d.JobId, StringComparer.Ordinal);
            foreach (var (wanted, done) in batch)
            {
                done.TrySetResult(wanted.Where(found.ContainsKey).Select(id => found[id]).ToArray());
            }
        }
        catch (Exception e)
        {
            foreach (var (_, done) in batch)
            {
                done.TrySetException(e);
            }
        }
    }
}

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
/// Merges the DescribeJobs requests of passes running at the same time into as few calls of at most 100 ids as
/// possible. Whenever 100 ids are waiting they are sent at once; the remainder waits for more: until every pass in
/// flight is waiting here (when <c>passesInFlight</c> is known), or <c>maxWait</c> at most; without
/// <c>passesInFlight</c>, for <c>window</c>. Each caller gets the jobs it asked for once all its ids are answered.
/// </summary>
internal sealed class DescribeBatcher(
    Func<IReadOnlyList<string>, CancellationToken, Task<IReadOnlyList<Port.JobDetail>>> describe,
    TimeSpan window,
    Func<int>? passesInFlight,
    TimeSpan? maxWait,
    TimeProvider clock)
{
    private const int ChunkSize = AwsBatchJobBackend.DescribeLimit;

    private readonly Lock _gate = new();
    private readonly List<string> _queued = [];
    private readonly Dictionary<string, List<Waiter>> _interested = new(StringComparer.Ordinal);
    private readonly HashSet<Waiter> _waiting = [];
    private readonly TimeSpan _maxWait = maxWait ?? TimeSpan.FromSeconds(1);
    private bool _timerArmed;

    private sealed class Waiter(IReadOnlyCollection<string> ids)
    {
        public IReadOnlyCollection<string> Ids { get; } = ids;
        public HashSet<string> Remaining { get; } = new(ids, StringComparer.Ordinal);
        public Dictionary<string, Port.JobDetail> Found { get; } = new(StringComparer.Ordinal);
        public TaskCompletionSource<IReadOnlyList<Port.JobDetail>> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public async Task<IReadOnlyList<Port.JobDetail>> DescribeAsync(IReadOnlyCollection<string> jobIds, CancellationToken cancellationToken)
    {
        if (jobIds.Count == 0)
        {
            return [];
        }

        var waiter = new Waiter(jobIds);
        List<string[]> send;
        lock (_gate)
        {
            _waiting.Add(waiter);
            foreach (var id in waiter.Remaining)
            {
                // An id already queued or in flight for another pass is answered by that call.
                if (!_interested.TryGetValue(id, out var list))
                {
                    _interested[id] = list = [];
                    _queued.Add(id);
                }

                list.Add(waiter);
            }

            send = TakeLocked(all: EveryoneWaitingLocked());
            ArmTimerLocked();
        }

        Send(send);
        return await waiter.Done.Task.WaitAsync(cancellationToken);
    }

    private bool EveryoneWaitingLocked() => passesInFlight is not null && _waiting.Count >= passesInFlight();

    /// <summary>Full chunks, and with <paramref name="all"/> the remainder too.</summary>
    private List<string[]> TakeLocked(bool all)
    {
        var chunks = new List<string[]>();
        while (_queued.Count >= ChunkSize || (all && _queued.Count > 0))
        {
            var size = Math.Min(ChunkSize, _queued.Count);
            chunks.Add([.. _queued.GetRange(0, size)]);
            _queued.RemoveRange(0, size);
        }

        return chunks;
    }

    private void ArmTimerLocked()
    {
        if (_queued.Count > 0 && !_timerArmed)
        {
            _timerArmed = true;
            _ = FlushLaterAsync();
        }
    }

    private async Task FlushLaterAsync()
    {
        var started = clock.GetTimestamp();
        while (true)
        {
            await Task.Delay(window, clock);
            List<string[]> send;
            lock (_gate)
            {
                var due = passesInFlight is null || EveryoneWaitingLocked() || clock.GetElapsedTime(started) >= _maxWait;
                if (!due && _queued.Count > 0)
                {
                    continue;
                }

                _timerArmed = false;
                send = TakeLocked(all: true);
            }

            Send(send);
            return;
        }
    }

    private void Send(List<string[]> chunks)
    {
        foreach (var chunk in chunks)
        {
            _ = SendAsync(chunk);
        }
    }

    private async Task SendAsync(string[] chunk)
    {
        IReadOnlyList<Port.JobDetail>? found = null;
        Exception? error = null;
        try
        {
            found = await describe(chunk, CancellationToken.None);
        }
        catch (Exception e)
        {
            error = e;
        }

        var byId = found?.ToDictionary(d => d.JobId, StringComparer.Ordinal);
        var finished = new List<Waiter>();
        var failed = new List<Waiter>();
        lock (_gate)
        {
            foreach (var id in chunk)
            {
                if (!_interested.Remove(id, out var waiters))
                {
                    continue;
                }

                foreach (var waiter in waiters)
                {
                    if (error is not null)
                    {
                        if (_waiting.Remove(waiter))
                        {
                            failed.Add(waiter);
                        }

                        continue;
                    }

                    if (byId!.TryGetValue(id, out var detail))
                    {
                        waiter.Found[id] = detail;
                    }

                    waiter.Remaining.Remove(id);
                    if (waiter.Remaining.Count == 0 && _waiting.Remove(waiter))
                    {
                        finished.Add(waiter);
                    }
                }
            }
        }

        foreach (var waiter in failed)
        {
            waiter.Done.TrySetException(error!);
        }

        foreach (var waiter in finished)
        {
            waiter.Done.TrySetResult(waiter.Ids.Where(waiter.Found.ContainsKey).Select(id => waiter.Found[id]).ToArray());
        }
    }
}

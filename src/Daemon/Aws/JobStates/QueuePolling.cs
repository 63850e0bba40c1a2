using Batchkeeper.Daemon.Aws.Batch;
using Batchkeeper.Daemon.Aws.Batch.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Batchkeeper.Daemon.Aws.JobStates;

/// <summary>
/// Adaptive polling: per Batch queue, the states of our jobs come from whichever costs fewer requests, DescribeJobs of
/// our active jobs there (⌈ours / 100⌉ calls) or ListJobs of the queue by status (each of the five active statuses,
/// ⌈jobs / 1,000⌉ pages, at least one), as the queue's population was on its last listing. A queue shared with a whole
/// institute stays on DescribeJobs; a queue of our own is listed. A listing serves every pass that asks while it runs,
/// and every later pass whose jobs it saw after they were last handed out; only our jobs that left the active lists
/// (their end, attempts and log stream) and those newly RUNNING (their log stream) are described after it.
/// <para>
/// A queue on DescribeJobs is listed once more every <see cref="ReprobeInterval"/> (the crowd may have gone), and
/// a queue never listed is listed first when DescribeJobs would cost more than the five requests a listing costs at
/// least. Such a listing stops as soon as it has cost what DescribeJobs would, which is then used: at worst twice
/// the DescribeJobs calls, once per interval.
/// </para>
/// </summary>
internal sealed class QueuePolling(
    IBatchClient client,
    JobStateCache cache,
    Func<IReadOnlyList<string>, CancellationToken, Task> describeMerged,
    Func<IReadOnlyList<string>, CancellationToken, Task> describeNow,
    TimeProvider clock,
    ILogger? logger = null)
{
    /// <summary>Summaries per ListJobs page without a filter (Batch's most).</summary>
    public const int ListPageSize = 1000;

    /// <summary>The statuses of an active job, listed in the order a job goes through them (a job moving on is not missed).</summary>
    public static IReadOnlyList<string> ActiveStatuses { get; } = [JobStatus.Submitted, JobStatus.Pending, JobStatus.Runnable, JobStatus.Starting, JobStatus.Running];

    private readonly Lock _gate = new();
    private readonly Dictionary<string, QueueState> _queues = new(StringComparer.Ordinal);
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    /// <summary>How often a queue on DescribeJobs is listed again to see whether listing has become cheaper. Default 10 minutes.</summary>
    public TimeSpan ReprobeInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>A queue's jobs per active status on its last listing; complete false when it was stopped for costing too much.</summary>
    internal sealed record Population(IReadOnlyDictionary<string, int> PerStatus, int Pages, bool Complete)
    {
        /// <summary>The requests a listing costs with this population (for a stopped one: at least the pages it took).</summary>
        public int Cost => Complete ? PerStatus.Values.Sum(ListingCost) : Pages;

        public int Jobs => PerStatus.Values.Sum();
    }

    private sealed class QueueState
    {
        public Population? Seen;
        public long ListedAt;
        public bool? Listing;
        public Round? Current;
    }

    /// <summary>One listing of a queue: where it stands in the order of observations, and whether it completed.</summary>
    private sealed record Round(long StartedAt, TaskCompletionSource<bool> Done);

    /// <summary>The requests one status's listing costs: a page per 1,000 jobs, one for none.</summary>
    public static int ListingCost(int jobs) => Math.Max(1, (jobs + ListPageSize - 1) / ListPageSize);

    /// <summary>DescribeJobs calls for our active jobs in a queue.</summary>
    public static int DescribeCost(int ours) => Math.Max(1, (ours + AwsBatchJobBackend.DescribeLimit - 1) / AwsBatchJobBackend.DescribeLimit);

    /// <summary>Whether a listing is cheaper than describing, from the population seen; null when never seen.</summary>
    public static bool? ListingIsCheaper(Population? seen, int ours) => seen is null ? null : seen.Cost < DescribeCost(ours);

    /// <summary>The population seen on the queue's last listing (for tests).</summary>
    internal Population? Seen(string queue)
    {
        lock (_gate)
        {
            return _queues.GetValueOrDefault(queue)?.Seen;
        }
    }

    /// <summary>Splits jobs to refresh into those of queues polled by listing (by queue) and the rest, for DescribeJobs.</summary>
    public Dictionary<string, List<string>> Route(IReadOnlyList<string> jobIds, List<string> describe)
    {
        var listed = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var group in jobIds.GroupBy(cache.QueueOf))
        {
            if (group.Key is { } queue && UsesListing(queue))
            {
                listed[queue] = [.. group];
            }
            else
            {
                describe.AddRange(group);
            }
        }

        return listed;
    }

    private bool UsesListing(string queue)
    {
        var ours = cache.ActiveIn(queue);
        var describeCost = DescribeCost(ours);
        lock (_gate)
        {
            var state = Queue(queue);
            var cheaper = ListingIsCheaper(state.Seen, ours);
            if (cheaper is { } choice && choice != state.Listing)
            {
                state.Listing = choice;
                Log.PollingChosen(_logger, queue, choice ? "ListJobs by status" : "DescribeJobs", ours, describeCost,
                    state.Seen!.Complete ? state.Seen.Cost.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"at least {state.Seen.Pages}",
                    state.Seen.Jobs);
            }

            // Probing: listing can only be cheaper than DescribeJobs when that needs more than a request per active status.
            var worthProbing = describeCost > ActiveStatuses.Count && (state.Seen is null || clock.GetElapsedTime(state.ListedAt) >= ReprobeInterval);
            return cheaper == true || worthProbing || state.Current is not null && cheaper != false;
        }
    }

    /// <summary>
    /// Refreshes these jobs of <paramref name="queue"/> by a listing that saw them after they were last handed out: the
    /// one running now if it started after that, else the next. When the listing was stopped for cost, by DescribeJobs.
    /// </summary>
    public async Task RefreshAsync(string queue, IReadOnlyList<string> jobIds, CancellationToken cancellationToken)
    {
        var reported = cache.LastReported(jobIds);
        while (true)
        {
            Round round;
            var start = false;
            lock (_gate)
            {
                var state = Queue(queue);
                if (state.Current is null)
                {
                    state.Current = new Round(cache.Mark(), new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
                    start = true;
                }

                round = state.Current;
            }

            if (start)
            {
                // Not on this caller's token: the listing serves every pass that joins it.
                _ = ListAsync(queue, round, DescribeCost(cache.ActiveIn(queue)));
            }

            var complete = await round.Done.Task.WaitAsync(cancellationToken);
            if (round.StartedAt <= reported)
            {
                continue; // it started before these jobs were last handed out: the next one tells what happened since
            }

            if (!complete)
            {
                await describeMerged(jobIds, cancellationToken);
            }

            return;
        }
    }

    private async Task ListAsync(string queue, Round round, int budget)
    {
        try
        {
            var perStatus = new Dictionary<string, int>(StringComparer.Ordinal);
            var listed = new List<JobSummary>();
            var pages = 0;
            var complete = true;
            for (var s = 0; s < ActiveStatuses.Count && complete; s++)
            {
                var status = ActiveStatuses[s];
                perStatus[status] = 0;
                string? token = null;
                do
                {
                    var page = await client.ListJobsAsync(
                        new ListJobsRequest { JobQueue = queue, JobStatus = status, MaxResults = ListPageSize, NextToken = token }, CancellationToken.None);
                    pages++;
                    perStatus[status] += page.JobSummaryList.Count;
                    listed.AddRange(page.JobSummaryList);
                    token = string.IsNullOrEmpty(page.NextToken) ? null : page.NextToken;

                    // Costing what DescribeJobs would, with more to list: DescribeJobs it is.
                    if (pages >= budget && (token is not null || s < ActiveStatuses.Count - 1))
                    {
                        complete = false;
                    }
                }
                while (token is not null && complete);
            }

            lock (_gate)
            {
                var state = Queue(queue);
                state.Seen = new Population(perStatus, pages, complete);
                state.ListedAt = clock.GetTimestamp();
            }

            if (complete)
            {
                var describe = cache.ObserveListing(queue, listed, round.StartedAt);
                if (describe.Count > 0)
                {
                    await describeNow(describe, CancellationToken.None);
                }
            }

            Finish(queue, round, () => round.Done.TrySetResult(complete));
        }
#pragma warning disable CA1031 // Whatever failed the listing fails the passes waiting on it, as a failed DescribeJobs would.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Finish(queue, round, () => round.Done.TrySetException(e));
        }
    }

    /// <summary>The round is over: the next caller starts a new one; then its waiters go on.</summary>
    private void Finish(string queue, Round round, Action complete)
    {
        lock (_gate)
        {
            var state = Queue(queue);
            if (ReferenceEquals(state.Current, round))
            {
                state.Current = null;
            }
        }

        complete();
    }

    private QueueState Queue(string queue)
    {
        if (!_queues.TryGetValue(queue, out var state))
        {
            _queues[queue] = state = new QueueState();
        }

        return state;
    }
}

using Batchkeeper.Daemon.Aws.Batch.Model;

namespace Batchkeeper.Daemon.Aws.Batch;

/// <summary>
/// The AWS Batch operations the daemon uses. Every call is signed (SigV4), rate limited and retried on
/// throttling, 5xx, timeouts and dropped connections (see <see cref="AwsOptions"/>); an error the service
/// reports after that is a <see cref="BatchServiceException"/>, a network failure on every attempt is an
/// <see cref="HttpRequestException"/> or <see cref="TimeoutException"/>, and missing credentials surface
/// as the SDK's <c>AmazonClientException</c> on the first call.
/// </summary>
public interface IBatchClient
{
    /// <summary>
    /// Submits one job. It is retried only when throttled or when no connection was made, never after a 5xx, a
    /// timeout or a dropped connection, because Batch could have created the job: the caller finds it by name.
    /// </summary>
    Task<SubmitJobResponse> SubmitJobAsync(SubmitJobRequest request, CancellationToken cancellationToken = default);

    /// <summary>Describes up to 100 jobs. Jobs Batch does not know (yet: DescribeJobs may miss a job just submitted) are left out.</summary>
    Task<DescribeJobsResponse> DescribeJobsAsync(DescribeJobsRequest request, CancellationToken cancellationToken = default);

    /// <summary>One page of jobs; pass <see cref="ListJobsResponse.NextToken"/> back for the next.</summary>
    Task<ListJobsResponse> ListJobsAsync(ListJobsRequest request, CancellationToken cancellationToken = default);

    /// <summary>Every job on every page, starting from <paramref name="request"/> (its <c>NextToken</c> included), one page request at a time.</summary>
    IAsyncEnumerable<JobSummary> ListAllJobsAsync(ListJobsRequest request, CancellationToken cancellationToken = default);

    /// <summary>Terminates a job in any state, running ones included.</summary>
    Task<TerminateJobResponse> TerminateJobAsync(TerminateJobRequest request, CancellationToken cancellationToken = default);

    /// <summary>Cancels a job that has not started yet (SUBMITTED, PENDING, RUNNABLE); a started job is not affected.</summary>
    Task<CancelJobResponse> CancelJobAsync(CancelJobRequest request, CancellationToken cancellationToken = default);

    /// <summary>Describes job queues (one page).</summary>
    Task<DescribeJobQueuesResponse> DescribeJobQueuesAsync(DescribeJobQueuesRequest request, CancellationToken cancellationToken = default);

    /// <summary>Describes job definitions (one page).</summary>
    Task<DescribeJobDefinitionsResponse> DescribeJobDefinitionsAsync(DescribeJobDefinitionsRequest request, CancellationToken cancellationToken = default);
}

using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization.Metadata;
using Batchkeeper.Daemon.Aws.Batch.Model;

namespace Batchkeeper.Daemon.Aws.Batch;

/// <summary>
/// AWS Batch over its REST-JSON wire protocol (<c>POST /v1/&lt;operation&gt;</c>, <c>Content-Type: application/json</c>),
/// signed with AWSSDK.Core's SigV4 signer. Thread-safe; one per process, registered by <see cref="AwsServiceCollectionExtensions.AddAwsClients"/>.
/// </summary>
public sealed class BatchClient : AwsJsonClient, IBatchClient
{
    /// <summary>The SigV4 service name and endpoint prefix of AWS Batch.</summary>
    public const string ServiceName = "batch";

    private static readonly MediaTypeHeaderValue JsonMediaType = new("application/json");

    /// <summary>Over <paramref name="httpClient"/> as it is: the named client of <see cref="AwsServiceCollectionExtensions.AddAwsClients"/>.</summary>
    /// <param name="credentialsRejected">Called when Batch rejects the credentials as expired or unknown.</param>
    internal BatchClient(HttpClient httpClient, AwsServiceEndpoint endpoint, Action? credentialsRejected)
        : base(httpClient, endpoint.ServiceUrl, credentialsRejected)
    {
        Region = endpoint.Region.SystemName;
    }

    /// <summary>The region requests are signed for.</summary>
    public string Region { get; }

    /// <remarks>Not retried unless throttled or never sent: see <see cref="AwsResiliencePipeline.NotIdempotent"/>.</remarks>
    public Task<SubmitJobResponse> SubmitJobAsync(SubmitJobRequest request, CancellationToken cancellationToken = default) =>
        InvokeAsync("SubmitJob", request, BatchJsonContext.Default.SubmitJobRequest, BatchJsonContext.Default.SubmitJobResponse, cancellationToken, notIdempotent: true);

    public Task<DescribeJobsResponse> DescribeJobsAsync(DescribeJobsRequest request, CancellationToken cancellationToken = default) =>
        InvokeAsync("DescribeJobs", request, BatchJsonContext.Default.DescribeJobsRequest, BatchJsonContext.Default.DescribeJobsResponse, cancellationToken);

    public Task<ListJobsResponse> ListJobsAsync(ListJobsRequest request, CancellationToken cancellationToken = default) =>
        InvokeAsync("ListJobs", request, BatchJsonContext.Default.ListJobsRequest, BatchJsonContext.Default.ListJobsResponse, cancellationToken);

    public async IAsyncEnumerable<JobSummary> ListAllJobsAsync(
        ListJobsRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var tokensSeen = new HashSet<string>(StringComparer.Ordinal);
        var page = request;
        while (true)
        {
            var response = await ListJobsAsync(page, cancellationToken).ConfigureAwait(false);
            foreach (var job in response.JobSummaryList)
            {
                yield return job;
            }

            if (string.IsNullOrEmpty(response.NextToken))
            {
                yield break;
            }

            // A service that hands back a token it already gave would otherwise be paged forever.
            if (!tokensSeen.Add(response.NextToken))
            {
                throw new InvalidOperationException("AWS Batch ListJobs returned a nextToken it had returned before; stopped paging.");
            }

            page = page with { NextToken = response.NextToken };
        }
    }

    public Task<TerminateJobResponse> TerminateJobAsync(TerminateJobRequest request, CancellationToken cancellationToken = default) =>
        InvokeAsync("TerminateJob", request, BatchJsonContext.Default.TerminateJobRequest, BatchJsonContext.Default.TerminateJobResponse, cancellationToken);

    public Task<CancelJobResponse> CancelJobAsync(CancelJobRequest request, CancellationToken cancellationToken = default) =>
        InvokeAsync("CancelJob", request, BatchJsonContext.Default.CancelJobRequest, BatchJsonContext.Default.CancelJobResponse, cancellationToken);

    public Task<DescribeJobQueuesResponse> DescribeJobQueuesAsync(DescribeJobQueuesRequest request, CancellationToken cancellationToken = default) =>
        InvokeAsync("DescribeJobQueues", request, BatchJsonContext.Default.DescribeJobQueuesRequest, BatchJsonContext.Default.DescribeJobQueuesResponse, cancellationToken);

    public Task<DescribeJobDefinitionsResponse> DescribeJobDefinitionsAsync(DescribeJobDefinitionsRequest request, CancellationToken cancellationToken = default) =>
        InvokeAsync("DescribeJobDefinitions", request, BatchJsonContext.Default.DescribeJobDefinitionsRequest, BatchJsonContext.Default.DescribeJobDefinitionsResponse, cancellationToken);

    private protected override string SigningName => ServiceName;

    private protected override string ServiceTitle => "AWS Batch";

    private protected override AwsServiceException ServiceError(HttpResponseMessage response, AwsErrorResponse error) =>
        new BatchServiceException(error.Code, response.StatusCode, error.Message, error.RequestId);

    /// <summary>Calls <paramref name="operation"/> (<c>SubmitJob</c>) at <c>POST /v1/submitjob</c>.</summary>
    private async Task<TResponse> InvokeAsync<TRequest, TResponse>(
        string operation,
        TRequest request,
        JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken,
        bool notIdempotent = false)
        where TRequest : class
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(ServiceUrl, "v1/" + operation.ToLowerInvariant()));
        if (notIdempotent)
        {
            message.Options.Set(AwsResiliencePipeline.NotIdempotent, true);
        }

        return await SendAsync(message, JsonMediaType, operation, request, requestType, responseType, cancellationToken).ConfigureAwait(false);
    }
}

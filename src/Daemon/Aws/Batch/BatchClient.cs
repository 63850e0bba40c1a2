using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization.Metadata;
using Batchkeeper.Daemon.Aws.Batch.Model;
using Microsoft.Extensions.Logging;

namespace Batchkeeper.Daemon.Aws.Batch;

/// <summary>
/// AWS Batch over its REST-JSON wire protocol (<c>POST /v1/&lt;operation&gt;</c>, <c>Content-Type: application/json</c>),
/// signed with AWSSDK.Core's SigV4 signer. Thread-safe; make one per process (the rate limit is per instance).
/// </summary>
public sealed class BatchClient : AwsJsonClient, IBatchClient
{
    /// <summary>The SigV4 service name and endpoint prefix of AWS Batch.</summary>
    public const string ServiceName = "batch";

    private static readonly MediaTypeHeaderValue JsonMediaType = new("application/json");

    /// <summary>
    /// A client for the region and endpoint in <paramref name="options"/> (see <see cref="AwsOptions.Region"/>),
    /// with credentials from the SDK's default chain, looked up on the first call.
    /// </summary>
    /// <exception cref="AwsConfigurationException">No region is configured, or a region or URL is malformed.</exception>
    public BatchClient(AwsOptions options, ILoggerFactory? loggerFactory = null)
        : this(AwsServiceConnection.Create(ServiceName, ServiceName, options?.BatchServiceUrl, options ?? throw new ArgumentNullException(nameof(options)), loggerFactory))
    {
    }

    /// <summary>Test seam: sends through <paramref name="httpClient"/> as it is (no signing or retries unless its handlers add them).</summary>
    internal BatchClient(HttpClient httpClient, Uri serviceUrl, string region = "us-east-1")
        : this(httpClient, serviceUrl, region, owned: null)
    {
    }

    private BatchClient(AwsServiceConnection connection)
        : this(connection.Http, connection.ServiceUrl, connection.Region.SystemName, connection)
    {
    }

    private BatchClient(HttpClient httpClient, Uri serviceUrl, string region, AwsServiceConnection? owned)
        : base(httpClient, serviceUrl, owned)
    {
        Region = region;
    }

    /// <summary>The region requests are signed for.</summary>
    public string Region { get; }

    /// <summary>Test seam: the real pipeline (rate limit, retries, SigV4) over the given parts.</summary>
    internal static BatchClient Create(AwsOptions options, AwsClientSeams seams, ILoggerFactory? loggerFactory = null) =>
        new(AwsServiceConnection.Create(ServiceName, ServiceName, options.BatchServiceUrl, options, loggerFactory, seams));

    /// <remarks>Not retried unless throttled or never sent: see <see cref="AwsResilienceHandler.NotIdempotent"/>.</remarks>
    public Task<SubmitJobResponse> SubmitJobAsync(SubmitJobRequest request, CancellationToken cancellationToken = default) =>
        InvokeAsync("v1/submitjob", request, BatchJsonContext.Default.SubmitJobRequest, BatchJsonContext.Default.SubmitJobResponse, cancellationToken, notIdempotent: true);

    public Task<DescribeJobsResponse> DescribeJobsAsync(DescribeJobsRequest request, CancellationToken cancellationToken = default) =>
        InvokeAsync("v1/describejobs", request, BatchJsonContext.Default.DescribeJobsRequest, BatchJsonContext.Default.DescribeJobsResponse, cancellationToken);

    public Task<ListJobsResponse> ListJobsAsync(ListJobsRequest request, CancellationToken cancellationToken = default) =>
        InvokeAsync("v1/listjobs", request, BatchJsonContext.Default.ListJobsRequest, BatchJsonContext.Default.ListJobsResponse, cancellationToken);

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
        InvokeAsync("v1/terminatejob", request, BatchJsonContext.Default.TerminateJobRequest, BatchJsonContext.Default.TerminateJobResponse, cancellationToken);

    public Task<CancelJobResponse> CancelJobAsync(CancelJobRequest request, CancellationToken cancellationToken = default) =>
        InvokeAsync("v1/canceljob", request, BatchJsonContext.Default.CancelJobRequest, BatchJsonContext.Default.CancelJobResponse, cancellationToken);

    public Task<DescribeJobQueuesResponse> DescribeJobQueuesAsync(DescribeJobQueuesRequest request, CancellationToken cancellationToken = default) =>
        InvokeAsync("v1/describejobqueues", request, BatchJsonContext.Default.DescribeJobQueuesRequest, BatchJsonContext.Default.DescribeJobQueuesResponse, cancellationToken);

    public Task<DescribeJobDefinitionsResponse> DescribeJobDefinitionsAsync(DescribeJobDefinitionsRequest request, CancellationToken cancellationToken = default) =>
        InvokeAsync("v1/describejobdefinitions", request, BatchJsonContext.Default.DescribeJobDefinitionsRequest, BatchJsonContext.Default.DescribeJobDefinitionsResponse, cancellationToken);

    private protected override string ServiceTitle => "AWS Batch";

    private protected override AwsServiceException ServiceError(HttpResponseMessage response, AwsErrorResponse error) =>
        new BatchServiceException(error.Code, response.StatusCode, error.Message, error.RequestId);

    private async Task<TResponse> InvokeAsync<TRequest, TResponse>(
        string requestUri,
        TRequest request,
        JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken,
        bool notIdempotent = false)
        where TRequest : class
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(ServiceUrl, requestUri));
        if (notIdempotent)
        {
            message.Options.Set(AwsResilienceHandler.NotIdempotent, true);
        }

        return await SendAsync(message, JsonMediaType, requestUri, request, requestType, responseType, cancellationToken).ConfigureAwait(false);
    }
}

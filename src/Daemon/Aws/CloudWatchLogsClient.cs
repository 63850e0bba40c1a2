using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;

namespace Batchkeeper.Daemon.Aws;

/// <summary>
/// The one CloudWatch Logs call Batchkeeper needs, <c>GetLogEvents</c>, over the service's JSON 1.1 protocol
/// (<c>POST /</c>, <c>X-Amz-Target: Logs_20140328.GetLogEvents</c>, <c>Content-Type: application/x-amz-json-1.1</c>),
/// through the same pipeline as the Batch client (<see cref="AwsServiceCollectionExtensions.AddAwsClients"/>): rate limit, retries, SigV4.
/// AWSSDK.CloudWatchLogs is not served here, hence by hand.
/// </summary>
public sealed class CloudWatchLogsClient : AwsJsonClient
{
    /// <summary>The SigV4 service name and endpoint prefix of CloudWatch Logs.</summary>
    public const string ServiceName = "logs";

    /// <summary>The <c>X-Amz-Target</c> of GetLogEvents: the model's target prefix and the operation.</summary>
    public const string GetLogEventsTarget = "Logs_20140328.GetLogEvents";

    private static readonly MediaTypeHeaderValue JsonMediaType = new("application/x-amz-json-1.1");

    /// <summary>Over <paramref name="httpClient"/> as it is: the named client of <see cref="AwsServiceCollectionExtensions.AddAwsClients"/>.</summary>
    internal CloudWatchLogsClient(HttpClient httpClient, AwsServiceEndpoint endpoint, Action? credentialsRejected)
        : base(httpClient, endpoint.ServiceUrl, credentialsRejected)
    {
    }

    private protected override string SigningName => ServiceName;

    private protected override string ServiceTitle => "CloudWatch Logs";

    /// <summary>One page of a stream's events.</summary>
    /// <exception cref="CloudWatchLogsException">The service answered with an error (after retries where they apply).</exception>
    public async Task<GetLogEventsResponse> GetLogEventsAsync(GetLogEventsRequest request, CancellationToken cancellationToken = default)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, ServiceUrl);
        message.Headers.Add("X-Amz-Target", GetLogEventsTarget);
        return await SendAsync(message, JsonMediaType, "GetLogEvents", request, LogsJsonContext.Default.GetLogEventsRequest,
            LogsJsonContext.Default.GetLogEventsResponse, cancellationToken).ConfigureAwait(false);
    }

    private protected override AwsServiceException ServiceError(HttpResponseMessage response, AwsErrorResponse error) =>
        new CloudWatchLogsException(error.Code, response.StatusCode, error.Message, error.RequestId);

    /// <summary>
    /// Every page of a stream from <paramref name="startToken"/> (null: from the start) on, oldest first. Paging stops
    /// when the service hands back the token it was given: that is how GetLogEvents says "no more for now". The last
    /// page's <see cref="GetLogEventsResponse.NextForwardToken"/> is where a later read (<c>--follow</c>) resumes.
    /// </summary>
    public async IAsyncEnumerable<GetLogEventsResponse> ReadPagesAsync(
        string logGroup,
        string logStream,
        string? startToken,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var token = startToken;
        while (true)
        {
            var page = await GetLogEventsAsync(
                new GetLogEventsRequest { LogGroupName = logGroup, LogStreamName = logStream, NextToken = token, StartFromHead = token is null ? true : null },
                cancellationToken).ConfigureAwait(false);
            yield return page;
            if (page.NextForwardToken is null || page.NextForwardToken == token)
            {
                yield break;
            }

            token = page.NextForwardToken;
        }
    }

}

/// <summary>CloudWatch Logs answered with an error, e.g. <c>ResourceNotFoundException</c> for a stream that does not exist.</summary>
public sealed class CloudWatchLogsException : AwsServiceException
{
    public CloudWatchLogsException()
        : this("Unknown", HttpStatusCode.InternalServerError, "Unknown error.")
    {
    }

    public CloudWatchLogsException(string message)
        : this("Unknown", HttpStatusCode.InternalServerError, message)
    {
    }

    public CloudWatchLogsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public CloudWatchLogsException(string errorCode, HttpStatusCode statusCode, string serviceMessage, string? requestId = null)
        : base($"CloudWatch Logs {errorCode} (HTTP {(int)statusCode}): {serviceMessage}", errorCode, statusCode, serviceMessage, requestId)
    {
    }
}

/// <summary>The model shape <c>GetLogEventsRequest</c> (logs-2014-03-28), the members Batchkeeper sends.</summary>
public sealed record GetLogEventsRequest
{
    public required string LogGroupName { get; init; }

    public required string LogStreamName { get; init; }

    public string? NextToken { get; init; }

    /// <summary>Only meaningful without a token: true reads from the oldest event (the service's default is the newest).</summary>
    public bool? StartFromHead { get; init; }

    /// <summary>At most this many events per page (1–10,000; the service's default is as many as fit in 1 MB).</summary>
    public int? Limit { get; init; }
}

/// <summary>The model shape <c>GetLogEventsResponse</c>.</summary>
public sealed record GetLogEventsResponse
{
    private readonly IReadOnlyList<OutputLogEvent> _events = [];

    public IReadOnlyList<OutputLogEvent> Events { get => _events; init => _events = value ?? []; }

    public string? NextForwardToken { get; init; }

    public string? NextBackwardToken { get; init; }
}

/// <summary>The model shape <c>OutputLogEvent</c>; timestamps are epoch milliseconds.</summary>
public sealed record OutputLogEvent
{
    public long? Timestamp { get; init; }

    public string? Message { get; init; }

    public long? IngestionTime { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNameCaseInsensitive = false)]
[JsonSerializable(typeof(GetLogEventsRequest))]
[JsonSerializable(typeof(GetLogEventsResponse))]
internal sealed partial class LogsJsonContext : JsonSerializerContext;

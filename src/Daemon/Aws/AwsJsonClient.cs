using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Polly.Timeout;

namespace Batchkeeper.Daemon.Aws;

/// <summary>
/// What the JSON clients of AWS services share (Batch's REST-JSON, CloudWatch Logs' JSON 1.1): one POST with a JSON
/// body of exactly the service's media type, the answer read whole, an error answer turned into the service's
/// <see cref="AwsServiceException"/>, a body that is not the expected shape into <see cref="InvalidDataException"/>,
/// and the last failure of the resilience pipeline into an exception that names the service and the attempts.
/// Rate limit, retries and signing are the <see cref="HttpClient"/>'s handlers (<see cref="AwsServiceCollectionExtensions.AddAwsClients"/>).
/// </summary>
public abstract class AwsJsonClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly Action? _credentialsRejected;

    // Cancelled when the client is disposed (with its container): the resilience pipeline, disposed after it, waits for
    // the executions still in flight (up to 30 s, Polly's rule), so the client cuts its own calls short first, as
    // disposing an HttpClient of its own did. DescribeJobs calls merged for several passes run on no pass's token.
    private readonly CancellationTokenSource _closing = new();
    private int _disposed;

    /// <param name="credentialsRejected">Called when the service rejects the credentials as expired or unknown.</param>
    private protected AwsJsonClient(HttpClient http, Uri serviceUrl, Action? credentialsRejected)
    {
        _http = http ?? throw new ArgumentNullException(nameof(http));
        ServiceUrl = AwsServiceEndpoint.WithTrailingSlash(serviceUrl);
        _credentialsRejected = credentialsRejected;
    }

    /// <summary>The endpoint requests go to, ending in <c>/</c>.</summary>
    public Uri ServiceUrl { get; }

    /// <summary>The service's name in messages, e.g. <c>AWS Batch</c>.</summary>
    private protected abstract string ServiceTitle { get; }

    /// <summary>The service's SigV4 name, e.g. <c>batch</c>, in the messages of network failures (as in the log's retry lines).</summary>
    private protected abstract string SigningName { get; }

    /// <summary>Ends the calls in flight; idempotent (the container disposes a client registered under two types twice).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _closing.Cancel();
            _closing.Dispose();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>The service's exception for an error answer.</summary>
    private protected abstract AwsServiceException ServiceError(HttpResponseMessage response, AwsErrorResponse error);

    /// <summary>Sends <paramref name="request"/> as the body of <paramref name="message"/> and reads the answer.</summary>
    /// <param name="operation">The operation's name (<c>SubmitJob</c>) in messages and metrics.</param>
    private protected async Task<TResponse> SendAsync<TRequest, TResponse>(
        HttpRequestMessage message,
        MediaTypeHeaderValue mediaType,
        string operation,
        TRequest request,
        JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken)
        where TRequest : class
    {
        ArgumentNullException.ThrowIfNull(request);
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(request, requestType));
        // Exactly the service's media type: no charset parameter, as the official clients send it.
        content.Headers.ContentType = mediaType;
        message.Content = content;
        message.Options.Set(AwsResiliencePipeline.Operation, operation);

        using var call = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closing.Token);
        using var response = await SendWithRetriesAsync(message, call.Token).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(call.Token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            if (AwsResiliencePolicy.RejectsCredentials(response))
            {
                _credentialsRejected?.Invoke();
            }

            throw ServiceError(response, AwsErrorResponse.Parse(response, body));
        }

        try
        {
            return JsonSerializer.Deserialize(body.Length == 0 ? "{}"u8 : body, responseType)
                ?? throw new JsonException("The body is the JSON literal null.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException(
                $"{ServiceTitle} answered {operation} with a body that is not a valid {typeof(TResponse).Name}: {e.Message}", e);
        }
    }

    /// <summary>
    /// The final response (the caller turns an error into the service's exception), or the last attempt's failure:
    /// a timed-out attempt as a <see cref="TimeoutException"/>, a transport failure as an <see cref="HttpRequestException"/>
    /// of the same kind, both naming the service and the request ("Connection refused (127.0.0.1:443)" alone does not).
    /// </summary>
    private async Task<HttpResponseMessage> SendWithRetriesAsync(HttpRequestMessage message, CancellationToken cancellationToken)
    {
        // Only the path reaches messages: a query string could carry a presigned signature.
        var request = $"{message.Method} {message.RequestUri?.AbsolutePath}";
        try
        {
            return await _http.SendAsync(message, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException e)
        {
            throw new TimeoutException(
                $"AWS {SigningName} request {request} got no complete response within {e.Timeout.TotalSeconds:0.###} s on each of {Attempts(message)}.", e);
        }
        catch (Exception e) when (e is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
        {
            throw new HttpRequestException(
                (e as HttpRequestException)?.HttpRequestError ?? HttpRequestError.Unknown,
                $"AWS {SigningName} {request} failed after {Attempts(message)}: {e.Message}",
                e);
        }
    }

    private static string Attempts(HttpRequestMessage message) =>
        message.Options.TryGetValue(AwsResiliencePipeline.AttemptsMade, out var attempts) && attempts > 1 ? $"{attempts} attempts" : "1 attempt";
}

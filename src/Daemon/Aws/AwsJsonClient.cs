using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Batchkeeper.Daemon.Aws;

/// <summary>
/// What the JSON clients of AWS services share (Batch's REST-JSON, CloudWatch Logs' JSON 1.1): one POST with a JSON
/// body of exactly the service's media type, the answer read whole, an error answer turned into the service's
/// <see cref="AwsServiceException"/>, a body that is not the expected shape into <see cref="InvalidDataException"/>.
/// Rate limit, retries and signing are the <see cref="HttpClient"/>'s handlers (<see cref="AwsServiceConnection"/>).
/// </summary>
public abstract class AwsJsonClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly AwsServiceConnection? _owned;

    /// <param name="owned">The connection that built <paramref name="http"/>, disposed with this client; null when the caller owns it.</param>
    private protected AwsJsonClient(HttpClient http, Uri serviceUrl, AwsServiceConnection? owned)
    {
        _http = http ?? throw new ArgumentNullException(nameof(http));
        ServiceUrl = AwsServiceConnection.WithTrailingSlash(serviceUrl);
        _owned = owned;
    }

    /// <summary>The endpoint requests go to, ending in <c>/</c>.</summary>
    public Uri ServiceUrl { get; }

    /// <summary>The service's name in messages, e.g. <c>AWS Batch</c>.</summary>
    private protected abstract string ServiceTitle { get; }

    public void Dispose()
    {
        _owned?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>The service's exception for an error answer.</summary>
    private protected abstract AwsServiceException ServiceError(HttpResponseMessage response, AwsErrorResponse error);

    /// <summary>Sends <paramref name="request"/> as the body of <paramref name="message"/> and reads the answer.</summary>
    /// <param name="operation">The operation's name in messages.</param>
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

        using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
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
}

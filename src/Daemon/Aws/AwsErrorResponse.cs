using System.Net;
using System.Text;
using System.Text.Json;

namespace Batchkeeper.Daemon.Aws;

/// <summary>An error as an AWS JSON service (rest-json or json 1.x protocol) reports it.</summary>
internal sealed record AwsErrorResponse(string Code, string Message, string? RequestId)
{
    private const int MaxQuotedBodyLength = 256;

    /// <summary>
    /// The error code from <c>x-amzn-ErrorType</c> (the part before <c>:</c>), or null when the header is absent.
    /// </summary>
    public static string? ErrorCodeFromHeaders(HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (!response.Headers.TryGetValues("x-amzn-ErrorType", out var values))
        {
            return null;
        }

        var value = values.FirstOrDefault();
        return string.IsNullOrWhiteSpace(value) ? null : SanitizeCode(value);
    }

    /// <summary>
    /// The error code of an error response: the <c>x-amzn-ErrorType</c> header, else (JSON 1.1 services such as
    /// CloudWatch Logs may put it only there) the <c>__type</c> of a body already buffered. Null for a success or
    /// when neither says.
    /// </summary>
    public static string? ErrorCodeOf(HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if ((int)response.StatusCode < 400)
        {
            return null;
        }

        if (ErrorCodeFromHeaders(response) is { } fromHeader)
        {
            return fromHeader;
        }

        try
        {
            // Buffered below the retry rules (ResponseBufferingHandler loads every response): this copies memory and completes at
            // once, it does not wait on the network.
            var body = response.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult();
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object && StringProperty(document.RootElement, "__type", "code", "Code") is { } code
                ? SanitizeCode(code)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Reads code, message and request id from an error response: the code from <c>x-amzn-ErrorType</c>,
    /// else the body's <c>__type</c> or <c>code</c>; the message from the body's <c>message</c> or <c>Message</c>;
    /// the request id from <c>x-amzn-RequestId</c>.
    /// </summary>
    public static AwsErrorResponse Parse(HttpResponseMessage response, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(response);
        string? bodyCode = null;
        string? message = null;
        var bodyIsJson = false;
        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            bodyIsJson = true;
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                bodyCode = StringProperty(document.RootElement, "__type", "code", "Code");
                message = StringProperty(document.RootElement, "message", "Message", "errorMessage");
            }
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's HTML page, an empty body): quote a little of it below instead.
        }

        var code = ErrorCodeFromHeaders(response)
            ?? (bodyCode is null ? null : SanitizeCode(bodyCode))
            ?? DefaultCode(response.StatusCode);

        if (string.IsNullOrWhiteSpace(message))
        {
            message = !bodyIsJson && body.Length > 0
                ? Quote(Encoding.UTF8.GetString(body))
                : $"HTTP {(int)response.StatusCode} {response.ReasonPhrase} with no error message.";
        }

        return new AwsErrorResponse(code, message, RequestIdFrom(response));
    }

    private static string? RequestIdFrom(HttpResponseMessage response)
    {
        foreach (var header in new[] { "x-amzn-RequestId", "x-amz-request-id" })
        {
            if (response.Headers.TryGetValues(header, out var values) && values.FirstOrDefault() is { Length: > 0 } id)
            {
                return id;
            }
        }

        return null;
    }

    // "ClientException:http://internal.amazon.com/coral/..." and "com.amazonaws.batch#ClientException" both mean ClientException.
    private static string SanitizeCode(string raw)
    {
        var code = raw.Trim();
        var colon = code.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            code = code[..colon];
        }

        var hash = code.LastIndexOf('#');
        if (hash >= 0)
        {
            code = code[(hash + 1)..];
        }

        return code.Trim();
    }

    // No code anywhere (a proxy or load balancer answered): name the status rather than guess a service code.
    private static string DefaultCode(HttpStatusCode status) =>
        status == HttpStatusCode.TooManyRequests ? "TooManyRequestsException" : $"Http{(int)status}";

    private static string? StringProperty(JsonElement element, params string[] names)
    {
        foreach (var name in names)
        {
            if (element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String)
            {
                return value.GetString();
            }
        }

        return null;
    }

    private static string Quote(string text)
    {
        var trimmed = text.Trim();
        return trimmed.Length <= MaxQuotedBodyLength ? trimmed : trimmed[..MaxQuotedBodyLength] + "…";
    }
}

using System.Net;

namespace Batchkeeper.Daemon.Aws.Batch;

/// <summary>AWS Batch answered a request with an error.</summary>
/// <remarks>
/// <see cref="AwsServiceException.ErrorCode"/> is the service's code, e.g. <c>ClientException</c> (a bad request: unknown queue or
/// job definition, invalid parameters; never retried), <c>ServerException</c> or <c>TooManyRequestsException</c>
/// (both already retried before this is thrown), or <c>Http{status}</c> when the answer carried no code (a
/// proxy or load balancer answered).
/// </remarks>
public sealed class BatchServiceException : AwsServiceException
{
    public BatchServiceException()
        : this("Unknown", HttpStatusCode.InternalServerError, "Unknown error.", null)
    {
    }

    public BatchServiceException(string message)
        : this("Unknown", HttpStatusCode.InternalServerError, message, null)
    {
    }

    public BatchServiceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public BatchServiceException(string errorCode, HttpStatusCode statusCode, string serviceMessage, string? requestId)
        : base(Format(errorCode, statusCode, serviceMessage, requestId), errorCode, statusCode, serviceMessage, requestId)
    {
    }

    /// <summary>Whether the service asked the client to slow down.</summary>
    public bool IsThrottling => StatusCode == HttpStatusCode.TooManyRequests || ErrorCode == "TooManyRequestsException";

    /// <summary>Whether the request itself was at fault (4xx other than throttling): sending it again will not help.</summary>
    public bool IsClientError => (int)StatusCode is >= 400 and < 500 && !IsThrottling;

    /// <summary>
    /// Whether the caller, not the request, was refused: credentials expired, unknown or badly signed (HTTP 401/403, or a
    /// credentials error code), or not allowed the action. Renewed credentials or a fixed policy make the same request
    /// succeed, so it says nothing about the job.
    /// </summary>
    public bool IsAuthorizationError => StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden
        || AwsResiliencePolicy.RejectsCredentials(ErrorCode)
        || ErrorCode is "AccessDeniedException" or "AccessDenied";

    internal static BatchServiceException FromResponse(HttpResponseMessage response, ReadOnlySpan<byte> body)
    {
        var error = AwsErrorResponse.Parse(response, body);
        return new BatchServiceException(error.Code, response.StatusCode, error.Message, error.RequestId);
    }

    private static string Format(string errorCode, HttpStatusCode statusCode, string serviceMessage, string? requestId)
    {
        var text = requestId is null
            ? $"AWS Batch {errorCode} (HTTP {(int)statusCode}): {serviceMessage}"
            : $"AWS Batch {errorCode} (HTTP {(int)statusCode}): {serviceMessage} (request id {requestId})";
        return AwsResiliencePolicy.RejectsCredentials(errorCode) ? $"{text}. {AwsResiliencePolicy.RejectedCredentialsHint}" : text;
    }
}

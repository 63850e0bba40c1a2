using System.Net;

namespace Batchkeeper.Daemon.Aws;

/// <summary>An AWS service answered a request with an error: its code, HTTP status, own message and request id.</summary>
public abstract class AwsServiceException : Exception
{
    private protected AwsServiceException(string message, Exception? innerException)
        : base(message, innerException)
    {
        ErrorCode = "Unknown";
        StatusCode = HttpStatusCode.InternalServerError;
        ServiceMessage = message;
    }

    private protected AwsServiceException(string message, string errorCode, HttpStatusCode statusCode, string serviceMessage, string? requestId)
        : base(message)
    {
        ErrorCode = errorCode;
        StatusCode = statusCode;
        ServiceMessage = serviceMessage;
        RequestId = requestId;
    }

    /// <summary>
    /// The service's code (<c>x-amzn-ErrorType</c> before its <c>:</c>, or the body's <c>__type</c>), e.g.
    /// <c>ClientException</c>; <c>Http{status}</c> when the answer carried none (a proxy or load balancer answered).
    /// </summary>
    public string ErrorCode { get; }

    /// <summary>The HTTP status of the answer.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>The service's own message (the body's <c>message</c>), without the code and request id.</summary>
    public string ServiceMessage { get; }

    /// <summary>The <c>x-amzn-RequestId</c> of the answer, for AWS support; null when there was none.</summary>
    public string? RequestId { get; }
}

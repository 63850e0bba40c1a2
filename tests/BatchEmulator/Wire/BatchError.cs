namespace Batchkeeper.BatchEmulator.Wire;

/// <summary>An error answered as Batch does: status code, <c>x-amzn-ErrorType</c> header and <c>{"message": …}</c>.</summary>
internal sealed class BatchErrorException(int statusCode, string errorType, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;

    public string ErrorType { get; } = errorType;

    public static BatchErrorException Client(string message) => new(400, "ClientException", message);

    public static BatchErrorException Server(string message) => new(500, "ServerException", message);

    public static BatchErrorException Throttled() => new(429, "TooManyRequestsException", "Too Many Requests");
}

namespace Batchkeeper.BatchEmulator.Sqs;

/// <summary>
/// An error answered as SQS does in the JSON protocol: the status code, <c>{"__type":"com.amazonaws.sqs#TYPE","message":…}</c>
/// and the header <c>x-amzn-query-error: CODE;Sender</c> (or <c>;Receiver</c>), the code the SDKs report for it.
/// </summary>
internal sealed class SqsErrorException(int statusCode, string type, string queryCode, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;

    /// <summary>The shape name, e.g. <c>QueueDoesNotExist</c>.</summary>
    public string Type { get; } = type;

    /// <summary>The query-protocol code, e.g. <c>AWS.SimpleQueueService.NonExistentQueue</c>.</summary>
    public string QueryCode { get; } = queryCode;

    /// <summary>Whether the client is at fault (4xx).</summary>
    public bool IsSenderFault => StatusCode < 500;

    public string QueryErrorHeader => $"{QueryCode};{(IsSenderFault ? "Sender" : "Receiver")}";

    public static SqsErrorException QueueDoesNotExist() =>
        new(400, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.");

    public static SqsErrorException InvalidParameter(string message) => new(400, "InvalidParameterValue", "InvalidParameterValue", message);

    public static SqsErrorException Missing(string parameter) =>
        new(400, "MissingParameter", "MissingParameter", $"The request must contain the parameter {parameter}.");

    public static SqsErrorException OutOfRange(string parameter, long value, string rule) =>
        InvalidParameter($"Value {value} for parameter {parameter} is invalid. Reason: {rule}");

    public static SqsErrorException Throttled() => new(403, "RequestThrottled", "RequestThrottled", "Rate exceeded (injected by the emulator).");

    public static SqsErrorException Internal(string message) => new(500, "InternalError", "InternalError", message);
}

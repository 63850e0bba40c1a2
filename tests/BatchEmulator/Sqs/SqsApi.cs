using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Batchkeeper.BatchEmulator.Sqs;

/// <summary>
/// <c>POST /</c> with <c>X-Amz-Target: AmazonSQS.&lt;operation&gt;</c>: SQS's AWS JSON 1.0 protocol
/// (<c>Content-Type: application/x-amz-json-1.0</c>, the queue named by <c>QueueUrl</c> in the body), on the port the
/// Batch API listens on. Errors are <c>{"__type":"com.amazonaws.sqs#…","message":…}</c> with <c>x-amzn-query-error</c>.
/// Faults (<see cref="EventFaultSettings.ThrottleRate"/>, <see cref="EventFaultSettings.ServerErrorRate"/>) are applied
/// here, and every request is recorded in the SQS request log whatever its outcome.
/// </summary>
internal sealed partial class SqsApi(
    IReadOnlyList<EmulatedQueue> queues, EmulatorFaults faults, RequestLog log, TimeProvider time, ILogger logger, CancellationToken stopping)
{
    public const string TargetPrefix = "AmazonSQS.";
    private const string ContentType = "application/x-amz-json-1.0";

    /// <summary>Whether a request at <c>POST /</c> is meant for SQS (the CloudWatch Logs one shares the path).</summary>
    public static bool Serves(HttpContext context) =>
        context.Request.Headers["X-Amz-Target"].ToString().StartsWith(TargetPrefix, StringComparison.Ordinal);

    public async Task HandleAsync(HttpContext context)
    {
        var arrival = log.Begin(time);
        var operation = context.Request.Headers["X-Amz-Target"].ToString()[TargetPrefix.Length..];
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        var exchange = new Exchange();
        try
        {
            exchange.Body = await RequestLog.ReadBodyAsync(context.Request, cancel.Token).ConfigureAwait(false);
            var fault = Check(context, operation);
            exchange.Fault = fault == RequestFaultKind.None ? null : fault.ToString();
            switch (fault)
            {
                case RequestFaultKind.Throttle:
                    throw SqsErrorException.Throttled();
                case RequestFaultKind.ServerError:
                    throw SqsErrorException.Internal("We encountered an internal error. Please try again (injected by the emulator).");
            }

            var response = await DispatchAsync(operation, Parse(exchange.Body), cancel.Token).ConfigureAwait(false);
            exchange.StatusCode = 200;
            await WriteAsync(context, 200, response, null).ConfigureAwait(false);
        }
        catch (SqsErrorException e)
        {
            await exchange.FailAsync(context, e).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            exchange.StatusCode = 0; // the client went away first
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested && !context.Response.HasStarted)
        {
            await exchange.FailAsync(context, SqsErrorException.Internal("The emulator is stopping.")).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Whatever goes wrong inside is answered as SQS's InternalError.
        catch (Exception e) when (!context.Response.HasStarted)
#pragma warning restore CA1031
        {
            Log.HandlerFailed(logger, operation, e);
            await exchange.FailAsync(context, SqsErrorException.Internal(e.Message)).ConfigureAwait(false);
        }
        finally
        {
            log.Add(context, arrival, operation, exchange.Body, exchange.StatusCode, exchange.ErrorType, exchange.Fault);
            Log.Answered(logger, operation, exchange.StatusCode, exchange.Fault is null ? "" : $" ({exchange.Fault})");
        }
    }

    /// <summary>An operation served, in the protocol's content type: the fault to inject into it.</summary>
    private RequestFaultKind Check(HttpContext context, string operation)
    {
        if (!SqsOperations.All.Contains(operation, StringComparer.Ordinal))
        {
            throw new SqsErrorException(400, "com.amazon.coral.service#UnknownOperationException", "UnknownOperation", $"Unknown operation {TargetPrefix}{operation}.");
        }

        if (context.Request.ContentType != ContentType)
        {
            throw Serialization($"Expected Content-Type {ContentType}, got '{context.Request.ContentType}'.");
        }

        return faults.DecideSqsRequest(operation);
    }

    private async Task<JsonObject> DispatchAsync(string operation, JsonObject request, CancellationToken ct) => operation switch
    {
        SqsOperations.ReceiveMessage => await ReceiveAsync(request, ct).ConfigureAwait(false),
        SqsOperations.DeleteMessage => Delete(request),
        SqsOperations.DeleteMessageBatch => DeleteBatch(request),
        SqsOperations.ChangeMessageVisibility => ChangeVisibility(request),
        SqsOperations.ChangeMessageVisibilityBatch => ChangeVisibilityBatch(request),
        SqsOperations.GetQueueAttributes => GetAttributes(request),
        SqsOperations.GetQueueUrl => GetUrl(request),
        SqsOperations.ListQueues => List(request),
        SqsOperations.SendMessage => Send(request),
        SqsOperations.PurgeQueue => Purge(request),
        _ => throw new InvalidOperationException($"{operation} is listed but not dispatched."),
    };

    /// <summary>The queue named by the request's <c>QueueUrl</c>: <c>…/ACCOUNT/NAME</c> on any host the client reached us by.</summary>
    private EmulatedQueue Queue(JsonObject request)
    {
        var url = Str(request, "QueueUrl") ?? throw SqsErrorException.Missing("QueueUrl");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            throw new SqsErrorException(404, "InvalidAddress", "InvalidAddress", $"The address {url} is not valid for this endpoint.");
        }

        return uri.AbsolutePath.Trim('/').Split('/') is [var account, var name]
               && queues.FirstOrDefault(q => q.Name == name && q.AccountId == account) is { } queue
            ? queue
            : throw SqsErrorException.QueueDoesNotExist();
    }

    private static JsonObject Parse(string body)
    {
        try
        {
            return JsonNode.Parse(string.IsNullOrWhiteSpace(body) ? "{}" : body) as JsonObject
                   ?? throw Serialization("The request body must be a JSON object.");
        }
        catch (JsonException e)
        {
            throw Serialization($"The request body is not valid JSON: {e.Message}");
        }
    }

    private static SqsErrorException Serialization(string message) =>
        new(400, "com.amazon.coral.service#SerializationException", "SerializationException", message);

    private static string? Str(JsonObject request, string name) => request[name] switch
    {
        null => null,
        JsonValue value when value.TryGetValue<string>(out var text) => text,
        _ => throw Serialization($"{name} must be a string."),
    };

    private static int? Int(JsonObject request, string name) => request[name] switch
    {
        null => null,
        JsonValue value when value.TryGetValue<int>(out var number) => number,
        _ => throw Serialization($"{name} must be an integer."),
    };

    private static int? Ranged(JsonObject request, string name, int max)
    {
        var value = Int(request, name);
        return value is < 0 || value > max
            ? throw SqsErrorException.OutOfRange(name, value.Value, $"Must be >= 0 and <= {max}, if provided.")
            : value;
    }

    private static List<string> Strings(JsonObject request, string name) => request[name] switch
    {
        null => [],
        JsonArray array => [.. array.Select(item => item is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw Serialization($"{name} must hold strings."))],
        _ => throw Serialization($"{name} must be a list of strings."),
    };

    /// <summary>What the request log keeps of one request: its body and how it was answered.</summary>
    private sealed class Exchange
    {
        public string Body { get; set; } = "";
        public int StatusCode { get; set; }
        public string? ErrorType { get; set; }
        public string? Fault { get; set; }

        public async Task FailAsync(HttpContext context, SqsErrorException error)
        {
            var type = error.Type.Contains('#', StringComparison.Ordinal) ? error.Type : "com.amazonaws.sqs#" + error.Type;
            (StatusCode, ErrorType) = (error.StatusCode, error.Type);
            await WriteAsync(context, error.StatusCode, new JsonObject { ["__type"] = type, ["message"] = error.Message }, error.QueryErrorHeader)
                .ConfigureAwait(false);
        }
    }

    private static async Task WriteAsync(HttpContext context, int statusCode, JsonObject payload, string? queryError)
    {
        var bytes = Encoding.UTF8.GetBytes(payload.ToJsonString(Json.Wire));
        var response = context.Response;
        response.StatusCode = statusCode;
        response.ContentType = ContentType;
        response.ContentLength = bytes.Length;
        response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
        if (queryError is not null)
        {
            response.Headers["x-amzn-query-error"] = queryError;
        }

        await response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }
}

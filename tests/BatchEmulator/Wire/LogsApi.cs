using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Batchkeeper.BatchEmulator.Wire;

/// <summary>
/// <c>POST /</c> with <c>X-Amz-Target: Logs_20140328.GetLogEvents</c>: the one CloudWatch Logs operation served, in the
/// service's JSON 1.1 protocol (errors as <c>{"__type": …, "message": …}</c> with HTTP 400). Recorded in the request
/// log as <see cref="LogsOperations.GetLogEvents"/>.
/// </summary>
internal sealed class LogsApi(EmulatedLogs logs, BatchEmulatorOptions options, RequestLog log, TimeProvider time)
{
    private const string TargetPrefix = "Logs_20140328.";

    public async Task HandleAsync(HttpContext context)
    {
        var arrival = log.Begin(time);
        var target = context.Request.Headers["X-Amz-Target"].ToString();
        var operation = target.StartsWith(TargetPrefix, StringComparison.Ordinal) ? target[TargetPrefix.Length..] : target;
        var body = "";
        var statusCode = 0;
        string? errorType = null;
        try
        {
            body = await RequestLog.ReadBodyAsync(context.Request, context.RequestAborted).ConfigureAwait(false);

            (statusCode, errorType) = operation == LogsOperations.GetLogEvents
                ? await GetLogEventsAsync(context, body).ConfigureAwait(false)
                : await WriteErrorAsync(context, "UnknownOperationException", $"Unknown operation {target}.").ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            statusCode = 0;
        }
        finally
        {
            log.Add(context, arrival, operation, body, statusCode, errorType);
        }
    }

    private async Task<(int, string?)> GetLogEventsAsync(HttpContext context, string body)
    {
        if (context.Request.ContentType != "application/x-amz-json-1.1")
        {
            return await WriteErrorAsync(context, "SerializationException", $"Expected Content-Type application/x-amz-json-1.1, got '{context.Request.ContentType}'.").ConfigureAwait(false);
        }

        JsonObject request;
        try
        {
            request = JsonNode.Parse(body) as JsonObject ?? throw new JsonException("not an object");
        }
        catch (JsonException)
        {
            return await WriteErrorAsync(context, "SerializationException", "The request body is not a JSON object.").ConfigureAwait(false);
        }

        var group = (string?)request["logGroupName"] ?? (string?)request["logGroupIdentifier"];
        var stream = (string?)request["logStreamName"];
        if (stream is null)
        {
            return await WriteErrorAsync(context, "InvalidParameterException", "1 validation error detected: Value null at 'logStreamName' failed to satisfy constraint: Member must not be null").ConfigureAwait(false);
        }

        var limit = (int?)request["limit"] ?? options.LogEventsPageSize;
        if (limit is < 1 or > 10_000)
        {
            return await WriteErrorAsync(context, "InvalidParameterException", $"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 10000").ConfigureAwait(false);
        }

        if (group != options.LogGroup)
        {
            return await WriteErrorAsync(context, "ResourceNotFoundException", "The specified log group does not exist.").ConfigureAwait(false);
        }

        LogPage? page;
        try
        {
            page = logs.Read(stream, (string?)request["nextToken"], (bool?)request["startFromHead"] ?? false, Math.Min(limit, options.LogEventsPageSize));
        }
        catch (FormatException e)
        {
            return await WriteErrorAsync(context, "InvalidParameterException", e.Message).ConfigureAwait(false);
        }

        if (page is null)
        {
            return await WriteErrorAsync(context, "ResourceNotFoundException", "The specified log stream does not exist.").ConfigureAwait(false);
        }

        var response = new JsonObject
        {
            ["events"] = new JsonArray([.. page.Events.Select(e => new JsonObject
            {
                ["timestamp"] = e.Timestamp.ToUnixTimeMilliseconds(),
                ["message"] = e.Message,
                ["ingestionTime"] = e.Timestamp.ToUnixTimeMilliseconds(),
            })]),
            ["nextForwardToken"] = page.NextForwardToken,
            ["nextBackwardToken"] = page.NextBackwardToken,
        };
        await WriteAsync(context, 200, response).ConfigureAwait(false);
        return (200, null);
    }

    private static async Task<(int, string?)> WriteErrorAsync(HttpContext context, string type, string message)
    {
        await WriteAsync(context, 400, new JsonObject { ["__type"] = type, ["message"] = message }).ConfigureAwait(false);
        return (400, type);
    }

    private static async Task WriteAsync(HttpContext context, int statusCode, JsonObject payload)
    {
        var bytes = Encoding.UTF8.GetBytes(payload.ToJsonString());
        var response = context.Response;
        response.StatusCode = statusCode;
        response.ContentType = "application/x-amz-json-1.1";
        response.ContentLength = bytes.Length;
        response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
        await response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }
}

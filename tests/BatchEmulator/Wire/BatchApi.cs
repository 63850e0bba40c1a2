using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Batchkeeper.BatchEmulator.Wire;

/// <summary>
/// <c>POST /v1/{operation}</c>: Batch's rest-json protocol. Faults are applied here, and every
/// request is recorded, whatever its outcome.
/// </summary>
internal sealed class BatchApi(JobStore store, EmulatorFaults faults, RequestLog log, TimeProvider time, ILogger logger, CancellationToken stopping,
    Func<string, bool>? isExpiredSessionToken = null)
{
    public async Task HandleAsync(HttpContext context)
    {
        var arrival = log.Begin(time);
        var segment = context.Request.RouteValues["operation"] as string ?? "";
        var operation = BatchOperations.FromPathSegment(segment);
        var sessionToken = context.Request.Headers["X-Amz-Security-Token"].ToString() is { Length: > 0 } sent ? sent : null;
        var body = "";
        var statusCode = 0;
        string? errorType = null;
        string? fault = null;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        try
        {
            body = await RequestLog.ReadBodyAsync(context.Request, cancel.Token).ConfigureAwait(false);

            if (operation is null)
            {
                (statusCode, errorType) = await WriteErrorAsync(
                    context, new BatchErrorException(404, "UnknownOperationException", $"Unknown operation {segment}.")).ConfigureAwait(false);
                return;
            }

            if (isExpiredSessionToken is not null && sessionToken is not null && isExpiredSessionToken(sessionToken))
            {
                (statusCode, errorType) = await WriteErrorAsync(
                    context, new BatchErrorException(403, "ExpiredTokenException", "The security token included in the request is expired")).ConfigureAwait(false);
                return;
            }

            var decision = faults.DecideRequest(operation);
            fault = decision.Kind == RequestFaultKind.None ? null : decision.Kind.ToString();
            if (decision.Latency > TimeSpan.Zero)
            {
                await Task.Delay(decision.Latency, time, cancel.Token).ConfigureAwait(false);
            }

            switch (decision.Kind)
            {
                case RequestFaultKind.Throttle:
                    (statusCode, errorType) = await WriteErrorAsync(context, BatchErrorException.Throttled()).ConfigureAwait(false);
                    return;
                case RequestFaultKind.ServerError:
                    (statusCode, errorType) = await WriteErrorAsync(
                        context, BatchErrorException.Server("An internal error occurred (injected by the emulator).")).ConfigureAwait(false);
                    return;
                case RequestFaultKind.StallBefore:
                    await Task.Delay(decision.Stall, time, cancel.Token).ConfigureAwait(false);
                    break;
            }

            object response;
            try
            {
                response = Dispatch(operation, body);
            }
            catch (BatchErrorException e)
            {
                (statusCode, errorType) = await WriteErrorAsync(context, e).ConfigureAwait(false);
                return;
            }

            if (decision.Kind == RequestFaultKind.StallAfter)
            {
                await Task.Delay(decision.Stall, time, cancel.Token).ConfigureAwait(false);
            }

            statusCode = 200;
            await WriteAsync(context, 200, response, null).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            statusCode = 0; // the client went away first
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested && !context.Response.HasStarted)
        {
            (statusCode, errorType) = await WriteErrorAsync(
                context, BatchErrorException.Server("The emulator is stopping.")).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Whatever goes wrong inside is answered as Batch's ServerException.
        catch (Exception e) when (!context.Response.HasStarted)
#pragma warning restore CA1031
        {
            Log.HandlerFailed(logger, operation ?? segment, e);
            (statusCode, errorType) = await WriteErrorAsync(context, BatchErrorException.Server(e.Message)).ConfigureAwait(false);
        }
        finally
        {
            log.Add(context, arrival, operation ?? segment, body, statusCode, errorType, fault);
            Log.Answered(logger, operation ?? segment, statusCode, fault is null ? "" : $" ({fault})");
        }
    }

    private object Dispatch(string operation, string body) => operation switch
    {
        BatchOperations.SubmitJob => Submit(Read<SubmitJobRequest>(body)),
        BatchOperations.DescribeJobs => store.Describe(Read<DescribeJobsRequest>(body)),
        BatchOperations.ListJobs => store.List(Read<ListJobsRequest>(body)),
        BatchOperations.TerminateJob => Terminate(Read<JobIdAndReason>(body)),
        BatchOperations.CancelJob => Cancel(Read<JobIdAndReason>(body)),
        BatchOperations.DescribeJobQueues => store.DescribeQueues(Read<DescribeJobQueuesRequest>(body)),
        BatchOperations.DescribeJobDefinitions => store.DescribeDefinitions(Read<DescribeJobDefinitionsRequest>(body)),
        _ => throw new BatchErrorException(404, "UnknownOperationException", $"Unknown operation {operation}."),
    };

    private SubmitJobResponse Submit(SubmitJobRequest request)
    {
        var job = store.Submit(request);
        return new SubmitJobResponse { JobArn = job.Arn, JobName = job.Name, JobId = job.Id };
    }

    private Dictionary<string, string> Terminate(JobIdAndReason request)
    {
        store.Terminate(request.JobId, request.Reason);
        return [];
    }

    private Dictionary<string, string> Cancel(JobIdAndReason request)
    {
        store.Cancel(request.JobId, request.Reason);
        return [];
    }

    private static T Read<T>(string body)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(string.IsNullOrWhiteSpace(body) ? "{}" : body, Json.Wire)
                   ?? throw BatchErrorException.Client("The request body must be a JSON object.");
        }
        catch (JsonException e)
        {
            throw BatchErrorException.Client($"The request body is not valid for this operation: {e.Message}");
        }
    }

    private static async Task<(int, string)> WriteErrorAsync(HttpContext context, BatchErrorException error)
    {
        await WriteAsync(context, error.StatusCode, new ErrorBody { Message = error.Message }, error.ErrorType).ConfigureAwait(false);
        return (error.StatusCode, error.ErrorType);
    }

    private static async Task WriteAsync(HttpContext context, int statusCode, object payload, string? errorType)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(payload, payload.GetType(), Json.Wire);
        var response = context.Response;
        response.StatusCode = statusCode;
        response.ContentType = "application/json";
        response.ContentLength = bytes.Length;
        response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
        if (errorType is not null)
        {
            response.Headers["x-amzn-ErrorType"] = errorType;
        }

        await response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }
}

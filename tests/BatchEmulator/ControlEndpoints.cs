using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Batchkeeper.BatchEmulator;

/// <summary>
/// <c>/_emulator/…</c>: JSON endpoints to look at and steer the emulator from another process
/// (the benchmark, a shell). They are never faulted nor recorded.
/// </summary>
internal static class ControlEndpoints
{
    public static void Map(IEndpointRouteBuilder app, BatchEmulator emulator)
    {
        var control = app.MapGroup("/_emulator");

        control.MapGet("/health", context => WriteAsync(context, new { status = "ok", jobs = emulator.Jobs.Count, requestsInFlight = emulator.RequestsInFlight, sqsRequestsInFlight = emulator.SqsRequestsInFlight }));

        control.MapGet("/jobs", context =>
        {
            var status = context.Request.Query["status"].ToString();
            var prefix = context.Request.Query["namePrefix"].ToString();
            var jobs = emulator.Jobs
                .Where(j => status.Length == 0 || j.Status == status)
                .Where(j => prefix.Length == 0 || j.JobName.StartsWith(prefix, StringComparison.Ordinal));
            return WriteAsync(context, new { jobs });
        });

        control.MapDelete("/jobs", context =>
        {
            emulator.ClearJobs();
            return WriteAsync(context, new { });
        });

        control.MapGet("/requests", context =>
        {
            var operation = context.Request.Query["operation"].ToString();
            var requests = operation.Length == 0 ? emulator.Requests : emulator.RequestsFor(operation); // SQS ones by name
            return WriteAsync(context, new { requests });
        });

        control.MapGet("/sqs/requests", context => WriteAsync(context, new { requests = emulator.SqsRequests }));

        control.MapGet("/events", context =>
        {
            var queue = emulator.EventsQueue;
            return WriteAsync(context, new
            {
                queueUrl = queue?.Url,
                visible = queue?.ApproximateNumberOfMessages,
                notVisible = queue?.ApproximateNumberOfMessagesNotVisible,
                delayed = queue?.ApproximateNumberOfMessagesDelayed,
                events = emulator.JobEvents,
            });
        });

        control.MapPut("/faults/events", async context =>
        {
            if (await ReadAsync<EventFaultSettings>(context).ConfigureAwait(false) is { } events &&
                await ApplyAsync(context, () => emulator.Faults.Update(s => s with { Events = events })).ConfigureAwait(false))
            {
                await WriteAsync(context, emulator.Faults.Current).ConfigureAwait(false);
            }
        });

        control.MapDelete("/requests", context =>
        {
            emulator.ClearRequests();
            return WriteAsync(context, new { });
        });

        control.MapGet("/faults", context => WriteAsync(context, emulator.Faults.Current));

        control.MapPut("/faults", async context =>
        {
            if (await ReadAsync<FaultSettings>(context).ConfigureAwait(false) is { } settings &&
                await ApplyAsync(context, () => emulator.Faults.Set(settings)).ConfigureAwait(false))
            {
                await WriteAsync(context, emulator.Faults.Current).ConfigureAwait(false);
            }
        });

        control.MapDelete("/faults", context =>
        {
            emulator.Faults.Reset();
            return WriteAsync(context, emulator.Faults.Current);
        });

        control.MapPost("/faults/rules", async context =>
        {
            if (await ReadAsync<JobFaultRule>(context).ConfigureAwait(false) is { } rule &&
                await ApplyAsync(context, () => emulator.Faults.AddJobRule(rule)).ConfigureAwait(false))
            {
                await WriteAsync(context, emulator.Faults.Current).ConfigureAwait(false);
            }
        });

        control.MapDelete("/faults/rules", context =>
        {
            emulator.Faults.Update(s => s with { JobRules = [] });
            return WriteAsync(context, emulator.Faults.Current);
        });

        control.MapPost("/faults/throttle-next", async context =>
        {
            if (await ReadAsync<ThrottleNextRequest>(context).ConfigureAwait(false) is { } request &&
                await ApplyAsync(context, () => emulator.Faults.ThrottleNext(request.Count)).ConfigureAwait(false))
            {
                await WriteAsync(context, new { pending = emulator.Faults.PendingThrottles }).ConfigureAwait(false);
            }
        });

        control.MapPost("/reset", context =>
        {
            emulator.Reset();
            return WriteAsync(context, new { });
        });
    }

    private static async Task<T?> ReadAsync<T>(HttpContext context)
        where T : class
    {
        try
        {
            var value = await JsonSerializer.DeserializeAsync<T>(context.Request.Body, Json.Control, context.RequestAborted)
                .ConfigureAwait(false);
            if (value is null)
            {
                await WriteAsync(context, new { message = "The body must be a JSON object." }, 400).ConfigureAwait(false);
            }

            return value;
        }
        catch (JsonException e)
        {
            await WriteAsync(context, new { message = $"Invalid JSON: {e.Message}" }, 400).ConfigureAwait(false);
            return null;
        }
    }

    private static async Task<bool> ApplyAsync(HttpContext context, Action apply)
    {
        try
        {
            apply();
            return true;
        }
        catch (ArgumentException e)
        {
            await WriteAsync(context, new { message = e.Message }, 400).ConfigureAwait(false);
            return false;
        }
    }

    private static Task WriteAsync<T>(HttpContext context, T payload, int statusCode = 200)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(payload, Json.Control), context.RequestAborted);
    }

    private sealed record ThrottleNextRequest(int Count);
}

using System.Text.Json;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Metrics;
using Batchkeeper.Daemon.Registry;
using Batchkeeper.Daemon.Systemd;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Web;

/// <summary>
/// The status server's routes. Every handler reads what the daemon already holds (the registry's last snapshots, the
/// loop's health, the lock) and writes it out: none of them waits for a pass or starts one.
/// </summary>
internal static class StatusEndpoints
{
    public static void Map(IEndpointRouteBuilder routes, IServiceProvider daemon)
    {
        var health = daemon.GetRequiredService<LoopHealth>();
        var projectsLock = daemon.GetRequiredService<ProjectsLock>();
        routes.MapGet(WebSecurity.HealthPath, context => Health(context, health, projectsLock));
        routes.MapGet("/api/daemon", context => WriteJsonAsync(context, DaemonStatus.Of(daemon)));
        MetricsEndpoint.Map(routes, daemon);
        WorkflowEndpoints.Map(routes, daemon);
        StatusPage.Map(routes, daemon);
    }

    /// <summary>
    /// 200 while the loop is alive, 503 once it is stalled: the rule that stops the systemd watchdog's pings
    /// (<see cref="LoopHealth.Problem()"/>). A standby waiting for the lock is alive: it has no loop yet.
    /// </summary>
    private static Task Health(HttpContext context, LoopHealth health, ProjectsLock projectsLock)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        if (!projectsLock.Holds)
        {
            return context.Response.WriteAsync($"ok: standby, waiting for the lock held by PID {projectsLock.StandbyFor ?? "unknown"}\n");
        }

        if (health.Problem() is { } problem)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return context.Response.WriteAsync($"stalled: {problem}\n");
        }

        return context.Response.WriteAsync("ok\n");
    }

    internal static async Task WriteJsonAsync<T>(HttpContext context, T value)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, value, SnapshotJson.Options, context.RequestAborted);
    }
}

/// <summary>The daemon's own health, for the overview: <c>/api/daemon</c>.</summary>
internal sealed record DaemonStatus(
    string Version,
    string Backend,
    int Pid,
    string Lock,
    string? StandbyFor,
    string? TookOverFrom,
    string Health,
    string? Problem,
    int PassesRunning,
    int Workflows,
    DateTimeOffset? LastPassAt,
    DateTimeOffset Now,
    IReadOnlyDictionary<string, RequestRate> RequestsLastMinute)
{
    public static DaemonStatus Of(IServiceProvider daemon)
    {
        var health = daemon.GetRequiredService<LoopHealth>();
        var projectsLock = daemon.GetRequiredService<ProjectsLock>();
        var snapshots = daemon.GetRequiredService<IWorkflowChanges>().Snapshots;
        var problem = health.Problem(projectsLock);
        return new DaemonStatus(
            typeof(DaemonHost).Assembly.GetName().Version?.ToString(3) ?? "?",
            daemon.GetRequiredService<IOptions<BatchkeeperOptions>>().Value.Backend.ToString(),
            Environment.ProcessId,
            projectsLock.Holds ? "held" : "standby",
            projectsLock.StandbyFor,
            projectsLock.TookOverFrom,
            problem is null ? "ok" : "stalled",
            problem,
            health.PassesRunning,
            snapshots.Count,
            snapshots.Count == 0 ? null : snapshots.Max(s => s.ReconciledAt),
            daemon.GetRequiredService<TimeProvider>().GetUtcNow(),
            daemon.GetRequiredService<RequestRates>().LastMinute());
    }
}

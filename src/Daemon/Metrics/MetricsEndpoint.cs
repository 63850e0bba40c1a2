using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Batchkeeper.Daemon.Metrics;

/// <summary><c>/metrics</c>: this daemon's registry in Prometheus's text format, behind the status server's security.</summary>
internal static class MetricsEndpoint
{
    public const string Path = "/metrics";

    public static void Map(IEndpointRouteBuilder routes, IServiceProvider daemon)
    {
        var registry = daemon.GetRequiredService<DaemonMetrics>().Registry;
        routes.MapGet(Path, async context =>
        {
            context.Response.ContentType = DaemonMetrics.ContentType;
            await registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
        });
    }
}

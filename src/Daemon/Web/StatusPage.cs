using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Builder;

namespace Batchkeeper.Daemon.Web;

/// <summary>The page itself and its assets, embedded in the assembly (no build step, no CDN: it works offline).</summary>
internal static class StatusPage
{
    public static void Map(IEndpointRouteBuilder routes, IServiceProvider daemon)
    {
        _ = daemon;
        routes.MapGet("/", context =>
        {
            context.Response.ContentType = "text/html; charset=utf-8";
            return context.Response.WriteAsync("<!doctype html><title>Batchkeeper</title><p>Batchkeeper status page</p>\n");
        });
    }
}

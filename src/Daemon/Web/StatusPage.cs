using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Batchkeeper.Daemon.Web;

/// <summary>
/// The page itself and its assets (src/Daemon/Web/Assets: HTML, CSS and JavaScript modules, no build step, nothing from
/// elsewhere, so it works offline), embedded in the assembly and served from memory: <c>/</c> is the page, every other
/// file is under <c>/assets/</c>, each with its content type and an ETag of its content, revalidated by the browser
/// (<c>Cache-Control: no-cache</c>) so a new daemon's page is never mixed with an old one's scripts.
/// </summary>
internal static class StatusPage
{
    public const string AssetsPath = "/assets/";

    private const string ResourcePrefix = "Batchkeeper.Web.Assets/";

    private static readonly FrozenDictionary<string, Asset> Assets = Load();

    private static readonly string[] ReadMethods = [HttpMethods.Get, HttpMethods.Head];

    public static void Map(IEndpointRouteBuilder routes, IServiceProvider daemon)
    {
        _ = daemon;
        routes.MapMethods("/", ReadMethods, context => ServeAsync(context, Assets["index.html"]));
        routes.MapMethods(AssetsPath + "{name}", ReadMethods, context =>
            Assets.TryGetValue((string)context.Request.RouteValues["name"]!, out var asset) && asset.Name != "index.html"
                ? ServeAsync(context, asset)
                : WorkflowEndpoints.ErrorAsync(context, StatusCodes.Status404NotFound, "no such asset"));
    }

    /// <summary>The embedded files by name (for tests: every file is served, and nothing else).</summary>
    internal static IReadOnlyCollection<string> Names => Assets.Keys;

    private static Task ServeAsync(HttpContext context, Asset asset)
    {
        var response = context.Response;
        response.Headers.ETag = asset.ETag;
        response.Headers.CacheControl = "no-cache";
        if (context.Request.Headers.IfNoneMatch.Contains(asset.ETag))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        response.ContentType = asset.ContentType;
        response.ContentLength = asset.Content.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(asset.Content).AsTask();
    }

    private static FrozenDictionary<string, Asset> Load()
    {
        var assembly = typeof(StatusPage).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            var content = memory.ToArray();
            var name = resource[ResourcePrefix.Length..];
            var etag = new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..16]}\"").ToString();
            assets[name] = new Asset(name, ContentTypeOf(name), content, etag);
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };

    private sealed record Asset(string Name, string ContentType, byte[] Content, string ETag);
}

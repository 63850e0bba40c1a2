using System.Net;
using System.Text.RegularExpressions;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Batchkeeper.Daemon.Web;

namespace Batchkeeper.Daemon.Tests.Web;

/// <summary>The page's embedded files as a real daemon serves them, and what they may not contain under the CSP.</summary>
public sealed partial class StatusPageAssetsTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string AssetsFolder => Path.Combine(RepoPaths.Root, "src", "Daemon", "Web", "Assets");

    [Fact]
    public async Task EveryAsset_IsServedWithItsContentTypeAndAnETag_AndRevalidatesTo304()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        using var http = await WorkflowApiTests.ClientOf(daemon);
        Assert.Equal(Directory.GetFiles(AssetsFolder).Select(Path.GetFileName).Order(StringComparer.Ordinal), StatusPage.Names.Order(StringComparer.Ordinal));
        foreach (var name in StatusPage.Names)
        {
            var path = name == "index.html" ? "/" : StatusPage.AssetsPath + name;
            using var answer = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            var expected = Path.GetExtension(name) switch { ".html" => "text/html", ".css" => "text/css", ".js" => "text/javascript", _ => "image/svg+xml" };
            Assert.Equal(expected, answer.Content.Headers.ContentType?.MediaType);
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(AssetsFolder, name)), await answer.Content.ReadAsByteArrayAsync());
            var etag = answer.Headers.ETag ?? throw new InvalidOperationException($"{name} has no ETag");
            Assert.Equal(WebSecurity.ContentSecurityPolicy, answer.Headers.GetValues("Content-Security-Policy").Single());

            using var again = new HttpRequestMessage(HttpMethod.Get, path);
            again.Headers.IfNoneMatch.Add(etag);
            using var revalidated = await http.SendAsync(again);
            Assert.Equal(HttpStatusCode.NotModified, revalidated.StatusCode);
        }

        using var unknown = await http.GetAsync(StatusPage.AssetsPath + "index.html");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, StatusPage.AssetsPath + "app.js"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public void ThePage_HasNoInlineScriptStyleOrHandler_AndItsScriptsNeitherParseHtmlNorEval()
    {
        var html = File.ReadAllText(Path.Combine(AssetsFolder, "index.html"));
        Assert.DoesNotMatch(InlineScript(), html);
        Assert.DoesNotMatch(InlineStyle(), html);
        Assert.DoesNotMatch(InlineHandler(), html);
        foreach (var script in Directory.GetFiles(AssetsFolder, "*.js"))
        {
            var code = File.ReadAllText(script);
            foreach (var forbidden in new[] { "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute('style'", "setAttribute('on" })
            {
                Assert.False(code.Contains(forbidden, StringComparison.Ordinal), $"{Path.GetFileName(script)} uses {forbidden}");
            }
        }
    }

    [GeneratedRegex(@"<script(?![^>]*\bsrc=)[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex InlineScript();

    [GeneratedRegex(@"<style\b|\sstyle\s*=", RegexOptions.IgnoreCase)]
    private static partial Regex InlineStyle();

    [GeneratedRegex(@"\son[a-z]+\s*=", RegexOptions.IgnoreCase)]
    private static partial Regex InlineHandler();
}

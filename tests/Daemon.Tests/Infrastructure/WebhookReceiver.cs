using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Batchkeeper.Daemon.Tests.Infrastructure;

/// <summary>
/// A real HTTP webhook receiver on 127.0.0.1 (Kestrel): it keeps every POST with the time it came, answers what the
/// test says (200 by default), and can go down (connections refused) and come back on the same port. Its URLs have a
/// secret path, as a Slack webhook's do, so tests can look for the secret wherever the daemon writes.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<Post> _posts = new();
    private readonly ConcurrentQueue<(Post Post, int Status)> _attempts = new();
    private WebApplication? _app;

    private WebhookReceiver()
    {
    }

    public sealed record Post(string Path, string Body, DateTimeOffset At)
    {
        public JsonElement Json => JsonDocument.Parse(Body).RootElement;
    }

    public int Port { get; private set; }

    /// <summary>The secret part of every URL of this receiver.</summary>
    public string Secret { get; } = "T0BK" + Guid.NewGuid().ToString("N")[..12] + "/B0BK/" + Guid.NewGuid().ToString("N");

    /// <summary>What to answer a POST (status, Retry-After); null means 200.</summary>
    public Func<Post, (int Status, string? RetryAfter)>? Answer { get; set; }

    /// <summary>The posts it took (answered 2xx).</summary>
    public IReadOnlyList<Post> Posts => _posts.ToArray();

    /// <summary>Every post, taken or not, with what it was answered.</summary>
    public IReadOnlyList<(Post Post, int Status)> Attempts => _attempts.ToArray();

    public string Url(string name) => $"http://127.0.0.1:{Port}/services/{name}/{Secret}";

    public IReadOnlyList<Post> PostsTo(string name) => Posts.Where(p => p.Path.StartsWith($"/services/{name}/", StringComparison.Ordinal)).ToArray();

    /// <summary>The events of the <c>json</c> posts to <paramref name="name"/>, in the order they came.</summary>
    public IReadOnlyList<JsonElement> EventsTo(string name) =>
        PostsTo(name).SelectMany(p => p.Json.GetProperty("events").EnumerateArray()).ToArray();

    public static async Task<WebhookReceiver> StartAsync()
    {
        var receiver = new WebhookReceiver();
        await receiver.ListenAsync(0);
        return receiver;
    }

    public async Task DownAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public Task UpAsync() => ListenAsync(Port);

    private async Task ListenAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        app.MapPost("/{**path}", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var post = new Post(context.Request.Path.Value ?? "", await reader.ReadToEndAsync(), DateTimeOffset.UtcNow);
            var (status, retryAfter) = Answer?.Invoke(post) ?? (200, null);
            _attempts.Enqueue((post, status));
            if (status is >= 200 and < 300)
            {
                _posts.Enqueue(post);
            }

            if (retryAfter is not null)
            {
                context.Response.Headers.RetryAfter = retryAfter;
            }

            context.Response.StatusCode = status;
            await context.Response.WriteAsync(status == 200 ? "ok" : "no");
        });
        await app.StartAsync();
        Port = new Uri(app.Urls.First()).Port;
        _app = app;
    }

    public async ValueTask DisposeAsync() => await DownAsync();
}

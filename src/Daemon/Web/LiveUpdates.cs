using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Batchkeeper.Daemon.Registry;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Hosting;

namespace Batchkeeper.Daemon.Web;

/// <summary>
/// What keeps an open page current: the status server's one subscriber of the change feed, which keeps the sequence
/// number of the last change as a version, and <c>/api/events</c>, a server-sent event stream that tells each page
/// "changed" (with the version) when it moves, at most <see cref="MaxEventsPerSecond"/> times a second however many
/// passes end; the page then fetches again what it shows. An event carries no data of a workflow: whatever the page
/// shows comes from the API, under the same rules. Every stream ends as soon as the daemon begins to stop, so an
/// open page never holds up a shutdown (the browser reconnects by itself to whichever daemon serves the address next).
/// </summary>
public sealed class LiveUpdates(IWorkflowChanges changes, IHostApplicationLifetime lifetime, TimeProvider clock) : BackgroundService
{
    public const string Path = "/api/events";

    /// <summary>The most "changed" events a page is sent a second; a burst of passes is one event.</summary>
    public const int MaxEventsPerSecond = 4;

    /// <summary>How soon a browser reconnects after its stream ended (a daemon restarting): sent with every event.</summary>
    private static readonly TimeSpan Reconnect = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan Spacing = TimeSpan.FromSeconds(1.0 / MaxEventsPerSecond);

    private readonly Lock _lock = new();
    private TaskCompletionSource _moved = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _version;

    /// <summary>The sequence number of the last change this subscriber has read (0 before any).</summary>
    public long Version
    {
        get
        {
            lock (_lock)
            {
                return _version;
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var feed = changes.Subscribe(stoppingToken);
        try
        {
            while (await feed.WaitToReadAsync(stoppingToken))
            {
                long last = 0;
                while (feed.TryRead(out var change))
                {
                    last = change.Sequence;
                }

                Move(last);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The daemon is stopping.
        }
    }

    private void Move(long version)
    {
        TaskCompletionSource moved;
        lock (_lock)
        {
            if (version <= _version)
            {
                return;
            }

            _version = version;
            moved = _moved;
            _moved = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        moved.TrySetResult();
    }

    /// <summary>The version once it is past <paramref name="seen"/>; null when <paramref name="cancellationToken"/> ends the wait first.</summary>
    internal async Task<long?> NextAsync(long seen, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task moved;
            lock (_lock)
            {
                if (_version > seen)
                {
                    return _version;
                }

                moved = _moved.Task;
            }

            try
            {
                await moved.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }
    }

    /// <summary><c>GET /api/events</c>: "changed" now (the version the page starts from), then each time the version moves.</summary>
    internal Task StreamAsync(HttpContext context)
    {
        // Linked, not the request's token alone: Kestrel's graceful stop waits for open requests, and this one never ends by itself.
        var ended = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        context.Response.RegisterForDispose(ended);
        return TypedResults.ServerSentEvents(EventsAsync(ended.Token)).ExecuteAsync(context);
    }

    private async IAsyncEnumerable<SseItem<string>> EventsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long seen = -1;
        while (await NextAsync(seen, cancellationToken) is { } version)
        {
            seen = version;
            yield return new SseItem<string>(string.Create(CultureInfo.InvariantCulture, $$"""{"version":{{version}}}"""), "changed")
            {
                ReconnectionInterval = Reconnect,
            };

            try
            {
                await Task.Delay(Spacing, clock, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
        }
    }
}

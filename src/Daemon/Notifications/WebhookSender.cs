using Batchkeeper.Daemon.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Notifications;

/// <summary>
/// Delivers the outbox, one loop per webhook: at least once, in order, at most one post per
/// <see cref="NotificationOptions.MinInterval"/> (Slack's limit), and what is waiting when a post goes out goes in that
/// one post (so a burst of failures is a handful of messages). A failed post is tried again with doubling, jittered
/// waits; 429 waits as long as Retry-After says; another 4xx drops the message, said once.
/// <para>
/// The retries are the outbox's own rather than a resilience pipeline's: a message must outlive the process (a restart
/// in the middle of an outage still delivers it), so its attempts and next attempt are written into its outbox file,
/// which an in-memory Polly retry cannot do.
/// </para>
/// </summary>
public sealed class WebhookSender : BackgroundService
{
    /// <summary>At most this many waiting messages go out as one post.</summary>
    public const int MaxMerged = 100;

    private readonly NotificationOptions _options;
    private readonly Outbox _outbox;
    private readonly WebhookClient _client;
    private readonly TimeProvider _clock;
    private readonly ILogger<WebhookSender> _logger;
    private readonly SemaphoreSlim[] _wake;
    private readonly Metrics.DaemonMetrics? _metrics;

    public WebhookSender(
        IOptions<BatchkeeperOptions> options, Outbox outbox, WebhookClient client, TimeProvider clock, ILogger<WebhookSender> logger, Metrics.DaemonMetrics? metrics = null)
    {
        _metrics = metrics;
        _options = options.Value.Notifications;
        _outbox = outbox;
        _client = client;
        _clock = clock;
        _logger = logger;
        _wake = _options.Webhooks.Select(_ => new SemaphoreSlim(0, 1)).ToArray();
    }

    /// <summary>Something was added for webhook <paramref name="webhook"/>: look now rather than at the next rescan.</summary>
    public void Wake(int webhook)
    {
        try
        {
            _wake[webhook].Release();
        }
        catch (SemaphoreFullException)
        {
            // Already woken.
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        for (var i = 0; i < _options.Webhooks.Count; i++)
        {
            Log.WebhookConfigured(_logger, WebhookOptions.Describe(i, _options.Webhooks[i].Url), _options.Webhooks[i].Format,
                string.Join(", ", _options.Webhooks[i].Events.Count == 0 ? NotificationEvents.Default : _options.Webhooks[i].Events));
        }

        return Task.WhenAll(_options.Webhooks.Select((hook, i) => DeliverAsync(i, hook, stoppingToken)));
    }

    private async Task DeliverAsync(int index, WebhookOptions hook, CancellationToken stoppingToken)
    {
        var name = WebhookOptions.Describe(index, hook.Url);
        var format = hook.ParsedFormat;
        string? failing = null;
        var refused = new HashSet<string>(StringComparer.Ordinal);
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = _clock.GetUtcNow();
            var pending = _outbox.Pending(index);
            var ready = pending.Where(e => e.Record.NextAttemptAt <= now).Take(MaxMerged).ToArray();
            if (ready.Length == 0)
            {
                // Nothing due: wait for a new message, the next due attempt, or (in case a wake was missed) a while.
                var due = pending.Count > 0 ? pending.Min(e => e.Record.NextAttemptAt) - now : TimeSpan.FromSeconds(30);
                await WaitAsync(index, due, stoppingToken);
                continue;
            }

            var message = Merge(ready);
            var result = await _client.PostAsync(hook.Url, MessageFormats.Body(message, format), stoppingToken);
            switch (result)
            {
                case PostResult.Delivered:
                    _metrics?.Delivery(index, Metrics.DeliveryOutcomes.Delivered);
                    foreach (var entry in ready)
                    {
                        _outbox.Delivered(entry);
                    }

                    if (failing is not null)
                    {
                        Log.WebhookRecovered(_logger, name, message.Events.Count);
                        failing = null;
                    }

                    break;
                case PostResult.TryAgain again:
                    _metrics?.Delivery(index, Metrics.DeliveryOutcomes.Retried);
                    var attempts = ready.Max(e => e.Record.Attempts) + 1;
                    var wait = again.RetryAfter ?? Backoff(attempts);
                    foreach (var entry in ready)
                    {
                        Outbox.Reschedule(entry, attempts, now + wait);
                    }

                    if (failing != again.Answer)
                    {
                        Log.WebhookFailing(_logger, name, again.Answer, wait);
                        failing = again.Answer;
                    }

                    break;
                case PostResult.Refused no:
                    _metrics?.Delivery(index, Metrics.DeliveryOutcomes.Dropped);
                    foreach (var entry in ready)
                    {
                        _outbox.Delivered(entry);
                    }

                    if (refused.Add(no.Answer))
                    {
                        Log.WebhookRefused(_logger, name, no.Answer, message.Events.Count);
                    }

                    break;
            }

            await WaitAsync(index, _options.MinInterval, stoppingToken, wakeable: false);
        }
    }

    /// <summary>Several waiting messages as one: their events in order, under an id made from theirs.</summary>
    private static NotificationMessage Merge(Outbox.Entry[] ready) => ready.Length == 1
        ? ready[0].Record.Message
        : new NotificationMessage
        {
            Id = NotificationEvent.IdOf([.. ready.Select(e => e.Record.Message.Id)]),
            Time = ready[0].Record.Message.Time,
            Events = [.. ready.SelectMany(e => e.Record.Message.Events)],
        };

    private TimeSpan Backoff(int attempts)
    {
        var doubled = _options.RetryBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(attempts - 1, 20));
        var capped = Math.Min(doubled, _options.MaxRetryBackoff.TotalMilliseconds);
        // Jitter: between half and all of the wait, so webhooks that failed together do not retry together.
        return TimeSpan.FromMilliseconds(capped * (0.5 + (Random.Shared.NextDouble() / 2)));
    }

    private async Task WaitAsync(int index, TimeSpan wait, CancellationToken stoppingToken, bool wakeable = true)
    {
        if (wait <= TimeSpan.Zero)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(wait, _clock);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, timeout.Token);
        try
        {
            if (wakeable)
            {
                await _wake[index].WaitAsync(either.Token);
            }
            else
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, either.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // The wait is over, or the daemon is stopping (the outbox keeps what is left for the next start).
        }
    }
}

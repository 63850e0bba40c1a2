using System.Text.Json;
using System.Threading.Channels;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Registry;
using Batchkeeper.Daemon.Snapshots;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Notifications;

/// <summary>
/// A subscriber of the change feed: after each pass it finds what needs a person (<see cref="EventDetector"/>), puts one
/// message per webhook into the outbox (the events of one pass of one workflow as one digest), and only then writes down
/// what it told (<c>told.json</c>). It runs on its own queue of the feed, so nothing it does, nor a dead webhook, slows a
/// pass. Daemon events (started, took over, stopping) go the same way.
/// </summary>
public sealed class NotificationWatcher : BackgroundService
{
    private readonly ChannelReader<WorkflowChange> _changes;
    private readonly NotificationOptions _options;
    private readonly string _projectsRoot;
    private readonly Outbox _outbox;
    private readonly WebhookSender _sender;
    private readonly ProjectsLock _lock;
    private readonly TimeProvider _clock;
    private readonly ILogger<NotificationWatcher> _logger;
    private readonly string _toldPath;
    private readonly Dictionary<string, WorkflowTold> _told;
    private readonly Dictionary<string, int> _errorPasses = new(StringComparer.Ordinal);
    private readonly IHostApplicationLifetime _lifetime;

    public NotificationWatcher(
        IWorkflowChanges changes, IOptions<BatchkeeperOptions> options, Outbox outbox, WebhookSender sender, ProjectsLock projectsLock,
        IHostApplicationLifetime lifetime, TimeProvider clock, ILogger<NotificationWatcher> logger)
    {
        _options = options.Value.Notifications;
        _projectsRoot = Path.GetFullPath(options.Value.ProjectsDirectory);
        _outbox = outbox;
        _sender = sender;
        _lock = projectsLock;
        _lifetime = lifetime;
        _clock = clock;
        _logger = logger;
        _toldPath = Path.Combine(Path.GetFullPath(_options.Directory), "told.json");
        _told = Load(_toldPath);
        _changes = changes.Subscribe(CancellationToken.None);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var dropped = _outbox.DropOrphans(_options.Webhooks.Select(h => Outbox.KeyOf(h.Url)).ToArray());
        if (dropped > 0)
        {
            Log.NotificationsOrphansDropped(_logger, dropped);
        }

        var now = _clock.GetUtcNow();
        Daemon(_lock.TookOverFrom is { } holder
            ? $"Batchkeeper took over {_projectsRoot} from PID {holder} (a standby)"
            : $"Batchkeeper started on {_projectsRoot}", "started", now);
        using var stopping = _lifetime.ApplicationStopping.Register(() => Daemon($"Batchkeeper is stopping on {_projectsRoot}", "stopping", _clock.GetUtcNow()));

        try
        {
            await foreach (var change in _changes.ReadAllAsync(stoppingToken))
            {
                if (change is PassCompleted completed)
                {
                    Told(completed);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The daemon is stopping.
        }
    }

    private void Told(PassCompleted completed)
    {
        var snapshot = completed.Snapshot;
        var errorPasses = snapshot.Errors.Count == 0 ? 0 : _errorPasses.GetValueOrDefault(completed.Path) + 1;
        _errorPasses[completed.Path] = errorPasses;
        var told = _told.TryGetValue(completed.Path, out var known) ? known : new WorkflowTold();
        var before = JsonSerializer.Serialize(told, MessageFormats.Json);
        var events = EventDetector.Detect(_projectsRoot, snapshot, told, errorPasses, _clock.GetUtcNow());
        try
        {
            Enqueue(events);
            _told[completed.Path] = told;
            if (JsonSerializer.Serialize(told, MessageFormats.Json) != before)
            {
                AtomicFile.Write(_toldPath, JsonSerializer.SerializeToUtf8Bytes(_told, MessageFormats.Json));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not remembered as told: the next pass finds the same events (with the same ids) and tries again.
            _told[completed.Path] = JsonSerializer.Deserialize<WorkflowTold>(before, MessageFormats.Json)!;
            Log.NotificationsNotQueued(_logger, Path.GetFileName(completed.Path), Core.Workflows.Quoted.Escape(e.Message));
        }
    }

    private void Daemon(string summary, string what, DateTimeOffset now)
    {
        var e = new NotificationEvent
        {
            Id = NotificationEvent.IdOf(NotificationEvents.Daemon, what, _projectsRoot, Environment.ProcessId, now.UtcTicks),
            Type = NotificationEvents.Daemon,
            Time = now,
            Summary = summary,
        };
        try
        {
            Enqueue([e]);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            Log.NotificationsNotQueued(_logger, "daemon", Core.Workflows.Quoted.Escape(error.Message));
        }
    }

    /// <summary>One message per webhook that wants any of the events: the events it wants, as one digest.</summary>
    private void Enqueue(List<NotificationEvent> events)
    {
        if (events.Count == 0)
        {
            return;
        }

        for (var i = 0; i < _options.Webhooks.Count; i++)
        {
            var hook = _options.Webhooks[i];
            var wanted = events.Where(hook.Wants).ToArray();
            if (wanted.Length == 0)
            {
                continue;
            }

            var message = new NotificationMessage { Id = NotificationEvent.IdOf([.. wanted.Select(e => e.Id)]), Time = wanted[0].Time, Events = wanted };
            _outbox.Add(i, Outbox.KeyOf(hook.Url), message, _clock.GetUtcNow());
            _sender.Wake(i);
        }
    }

    private static Dictionary<string, WorkflowTold> Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, WorkflowTold>>(File.ReadAllBytes(path), MessageFormats.Json)
                   ?? new(StringComparer.Ordinal);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or JsonException)
        {
            return new(StringComparer.Ordinal);
        }
    }
}

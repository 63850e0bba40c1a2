using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Batchkeeper.Daemon.Snapshots;

namespace Batchkeeper.Daemon.Notifications;

/// <summary>One message waiting to be delivered to one webhook, as kept in the outbox.</summary>
/// <param name="Webhook">The webhook's position in the configuration.</param>
/// <param name="WebhookKey">A hash of its URL (never the URL: the outbox is on disk), so a reordered configuration does not send to the wrong one.</param>
public sealed record OutboxRecord(int Webhook, string WebhookKey, NotificationMessage Message, int Attempts, DateTimeOffset NextAttemptAt);

/// <summary>
/// The outbox: one file per message per webhook in <c>&lt;Notifications:Directory&gt;/outbox</c>, written atomically
/// (temp file, fsync, rename) before anything is remembered as told, and deleted once the webhook took it. So a message
/// survives restarts and kill -9, and one found again after a crash (same events, so the same id) is kept once. File
/// names sort by the time they were made, so a webhook gets its messages in order.
/// </summary>
public sealed class Outbox
{
    /// <summary>Ids of delivered events kept; past twice this many, the oldest are forgotten.</summary>
    public const int DeliveredKept = 100_000;

    private readonly string _directory;
    private readonly string _deliveredPath;
    private readonly Lock _lock = new();
    private readonly HashSet<string> _delivered = new(StringComparer.Ordinal);
    private readonly Queue<string> _deliveredOrder = new();

    public Outbox(string directory)
    {
        _directory = Path.Combine(Path.GetFullPath(directory), "outbox");
        _deliveredPath = Path.Combine(Path.GetFullPath(directory), "delivered.txt");
        Directory.CreateDirectory(_directory);
        AtomicFile.DeleteLeftovers(Path.Combine(_directory, "x.json"));
        if (File.Exists(_deliveredPath))
        {
            foreach (var id in File.ReadLines(_deliveredPath).Where(l => l.Length > 0))
            {
                Remember(id);
            }
        }
    }

    private void Remember(string id)
    {
        if (_delivered.Add(id))
        {
            _deliveredOrder.Enqueue(id);
        }
    }

    public sealed record Entry(string Path, OutboxRecord Record);

    public static string KeyOf(string url) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(url)))[..16];

    /// <summary>
    /// Adds a message for a webhook, without the events already delivered (found again after a crash that came between
    /// the outbox and the memory of what was told), unless a message of that id is already waiting for it.
    /// </summary>
    public void Add(int webhook, string webhookKey, NotificationMessage message, DateTimeOffset now)
    {
        lock (_lock)
        {
            message = message with { Events = [.. message.Events.Where(e => !_delivered.Contains(e.Id))] };
        }

        if (message.Events.Count == 0 || Directory.EnumerateFiles(_directory, $"*-{webhook}-{message.Id}.json").Any())
        {
            return;
        }

        var name = $"{now.UtcTicks:D20}-{webhook}-{message.Id}.json";
        var record = new OutboxRecord(webhook, webhookKey, message, 0, now);
        AtomicFile.Write(Path.Combine(_directory, name), JsonSerializer.SerializeToUtf8Bytes(record, MessageFormats.Json));
    }

    /// <summary>The messages waiting for a webhook, oldest first. A file that cannot be read is set aside, not retried forever.</summary>
    public IReadOnlyList<Entry> Pending(int webhook) =>
        [.. Directory.EnumerateFiles(_directory, $"*-{webhook}-*.json").Order(StringComparer.Ordinal).Select(Read).OfType<Entry>()];

    /// <summary>One outbox file; null when it was delivered meanwhile, or cannot be read (it is then set aside).</summary>
    private static Entry? Read(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<OutboxRecord>(File.ReadAllBytes(path), MessageFormats.Json) is { } record ? new Entry(path, record) : null;
        }
        catch (FileNotFoundException)
        {
            // Delivered and deleted meanwhile.
            return null;
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            File.Move(path, path + ".unreadable", overwrite: true);
            return null;
        }
    }

    /// <summary>Every message waiting, for any webhook.</summary>
    public int Count => Directory.EnumerateFiles(_directory, "*.json").Count();

    /// <summary>
    /// A message the webhook took (or refused for good): its events are written down as delivered (appended and flushed
    /// to disk) before its file goes, so that finding them again cannot send them twice.
    /// </summary>
    public void Delivered(Entry entry)
    {
        lock (_lock)
        {
            var ids = entry.Record.Message.Events.Select(e => e.Id).Where(id => !_delivered.Contains(id)).ToArray();
            foreach (var id in ids)
            {
                Remember(id);
            }

            if (_delivered.Count > 2 * DeliveredKept)
            {
                while (_delivered.Count > DeliveredKept)
                {
                    _delivered.Remove(_deliveredOrder.Dequeue());
                }

                AtomicFile.Write(_deliveredPath, System.Text.Encoding.UTF8.GetBytes(string.Join('\n', _deliveredOrder) + "\n"));
            }
            else if (ids.Length > 0)
            {
                using var file = new FileStream(_deliveredPath, FileMode.Append, FileAccess.Write);
                file.Write(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', ids) + "\n"));
                file.Flush(flushToDisk: true);
            }
        }

        File.Delete(entry.Path);
    }

    /// <summary>A message whose file went away unread is dropped without being remembered as delivered.</summary>
    private static void Drop(Entry entry) => File.Delete(entry.Path);

    public static void Reschedule(Entry entry, int attempts, DateTimeOffset next) =>
        AtomicFile.Write(entry.Path, JsonSerializer.SerializeToUtf8Bytes(entry.Record with { Attempts = attempts, NextAttemptAt = next }, MessageFormats.Json));

    /// <summary>Messages for a webhook no longer configured (none at its place, or another URL there): dropped, with their count.</summary>
    public int DropOrphans(IReadOnlyList<string> keys)
    {
        var dropped = 0;
        foreach (var entry in Directory.EnumerateFiles(_directory, "*.json").Select(Read).OfType<Entry>())
        {
            var webhook = entry.Record.Webhook;
            if (webhook >= keys.Count || entry.Record.WebhookKey != keys[webhook])
            {
                Drop(entry);
                dropped++;
            }
        }

        return dropped;
    }
}

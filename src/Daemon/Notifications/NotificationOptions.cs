using Batchkeeper.Daemon.Hosting;

namespace Batchkeeper.Daemon.Notifications;

/// <summary>
/// <c>Batchkeeper:Notifications</c>: webhooks that hear of what needs a person. Environment form:
/// <c>Batchkeeper__Notifications__Webhooks__0__Url=…</c>. A webhook URL is a secret: it is never logged, written to a
/// snapshot, the dashboard or the outbox; lines name a webhook as <c>webhook 1 (hooks.slack.com)</c>.
/// </summary>
public sealed class NotificationOptions
{
    /// <summary>Where the outbox and the memory of what was sent are kept. Default <c>.batchkeeper/notifications</c>.</summary>
    public string Directory { get; set; } = ".batchkeeper/notifications";

    /// <summary>The webhooks; none by default (nothing is sent).</summary>
    public List<WebhookOptions> Webhooks { get; set; } = [];

    /// <summary>At most one message per this interval to one webhook (Slack's limit is one a second). Default 1 second.</summary>
    public TimeSpan MinInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The first wait before a failed delivery is tried again, doubled each time, with jitter. Default 2 seconds.</summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The longest wait between delivery attempts. Default 5 minutes.</summary>
    public TimeSpan MaxRetryBackoff { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long one delivery may take. Default 10 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    internal static void AddProblems(List<string> problems, NotificationOptions options)
    {
        void Between(string setting, TimeSpan value, TimeSpan min, TimeSpan max)
        {
            if (value < min || value > max)
            {
                problems.Add($"Batchkeeper:Notifications:{setting}: {value:c} is not allowed: expected {min:c} to {max:c}");
            }
        }

        Between("MinInterval", options.MinInterval, TimeSpan.Zero, TimeSpan.FromMinutes(10));
        Between("RetryBackoff", options.RetryBackoff, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1));
        Between("MaxRetryBackoff", options.MaxRetryBackoff, TimeSpan.FromMilliseconds(10), TimeSpan.FromDays(1));
        Between("Timeout", options.Timeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(5));
        for (var i = 0; i < options.Webhooks.Count; i++)
        {
            var hook = options.Webhooks[i];
            var at = $"Batchkeeper:Notifications:Webhooks:{i}";
            // The URL is a secret: a problem with it never quotes it.
            if (!Uri.TryCreate(hook.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || string.IsNullOrEmpty(url.Host))
            {
                problems.Add($"{at}:Url: is not allowed: expected an absolute http:// or https:// URL (the value is a secret and is not shown)");
            }

            if (!Enum.TryParse<WebhookFormat>(hook.Format, ignoreCase: true, out _) || int.TryParse(hook.Format, out _))
            {
                problems.Add($"{at}:Format: '{Core.Workflows.Quoted.Name(hook.Format ?? "")}' is not allowed: expected slack or json");
            }

            foreach (var name in hook.Events.Where(e => !NotificationEvents.All.Contains(e)))
            {
                problems.Add($"{at}:Events: '{Core.Workflows.Quoted.Name(name)}' is not allowed: expected one of {string.Join(", ", NotificationEvents.All)}");
            }
        }

        if (options.Webhooks.Count > 0)
        {
            BatchkeeperOptionsValidator.Folder(problems, "Notifications:Directory", options.Directory, mustWrite: true);
        }
    }
}

/// <summary>One webhook.</summary>
public sealed class WebhookOptions
{
    /// <summary>Where messages are posted. A secret.</summary>
    public string Url { get; set; } = "";

    /// <summary><c>slack</c> (Slack's incoming-webhook JSON) or <c>json</c> (<c>batchkeeper.event/1</c>). Default slack.</summary>
    public string Format { get; set; } = "slack";

    /// <summary>The events it hears of; empty means <c>slot_failed</c> and <c>workflow_complete</c>.</summary>
    public List<string> Events { get; set; } = [];

    /// <summary>Only these projects; empty means all.</summary>
    public List<string> Projects { get; set; } = [];

    internal WebhookFormat ParsedFormat => Enum.Parse<WebhookFormat>(Format, ignoreCase: true);

    internal bool Wants(NotificationEvent e) =>
        (Events.Count == 0 ? NotificationEvents.Default : Events).Contains(e.Type, StringComparer.Ordinal)
        && (Projects.Count == 0 || e.Project is null || Projects.Contains(e.Project, StringComparer.Ordinal));

    /// <summary>How a line names this webhook: its number and host, never its URL.</summary>
    internal static string Describe(int index, string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var parsed) ? $"webhook {index + 1} ({parsed.Host})" : $"webhook {index + 1}";
}

public enum WebhookFormat
{
    Slack,
    Json,
}

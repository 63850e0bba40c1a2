using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Batchkeeper.Daemon.Notifications;

/// <summary>The bodies posted to a webhook: Slack's incoming-webhook JSON, or the documented <c>batchkeeper.event/1</c>.</summary>
public static class MessageFormats
{
    /// <summary>A Slack digest lists this many events, then says how many more there are.</summary>
    public const int Listed = 10;

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Body(NotificationMessage message, WebhookFormat format) => format switch
    {
        WebhookFormat.Json => JsonSerializer.Serialize(message, Json),
        _ => Slack(message),
    };

    /// <summary>
    /// Slack's incoming-webhook JSON: <c>text</c> (the notification's one line) and <c>blocks</c> in mrkdwn, one section
    /// per event up to <see cref="Listed"/>, then "and N more". Values from users' files are escaped as Slack asks
    /// (<c>&amp;</c>, <c>&lt;</c>, <c>&gt;</c>), so a sample named <c>&lt;!channel&gt;</c> pings nobody.
    /// </summary>
    public static string Slack(NotificationMessage message)
    {
        var events = message.Events;
        var more = events.Count - Listed + message.More;
        var text = events.Count == 1 && message.More == 0
            ? events[0].Summary
            : $"{events.Count + message.More} Batchkeeper events: {events[0].Summary}{(events.Count + message.More > 1 ? ", …" : "")}";
        var blocks = new JsonArray();
        foreach (var e in events.Take(Listed))
        {
            blocks.Add(Section(Describe(e)));
        }

        if (more > 0)
        {
            blocks.Add(new JsonObject
            {
                ["type"] = "context",
                ["elements"] = new JsonArray(new JsonObject { ["type"] = "mrkdwn", ["text"] = $"and {more} more" }),
            });
        }

        var body = new JsonObject { ["text"] = Escape(text), ["blocks"] = blocks };
        return body.ToJsonString();
    }

    private static JsonObject Section(string mrkdwn) => new()
    {
        ["type"] = "section",
        // Slack's limit for a section's text.
        ["text"] = new JsonObject { ["type"] = "mrkdwn", ["text"] = mrkdwn.Length > 3000 ? mrkdwn[..2990] + " …" : mrkdwn },
    };

    private static string Describe(NotificationEvent e)
    {
        var text = new StringBuilder();
        text.Append('*').Append(e.Type).Append("* ").Append(Escape(e.Summary));
        if (e.Project is not null)
        {
            text.Append("\nworkflow `").Append(Escape($"{e.Project}/{e.File}")).Append('`');
            if (e.Sample is not null)
            {
                text.Append(" · sample `").Append(Escape(e.Sample)).Append("` · analysis `").Append(Escape(e.Analysis ?? "")).Append('`');
            }
        }

        if (e.JobName is not null || e.JobId is not null)
        {
            text.Append("\njob `").Append(Escape(e.JobName ?? "")).Append("` (").Append(Escape(e.JobId ?? "-")).Append(')');
            Add(text, " on queue ", e.Queue);
            Add(text, ", status ", e.Status);
        }

        var outcome = new[]
        {
            e.FailureClass is { } failure ? $"class {failure}" : null,
            e.ExitCode is { } code ? $"exit code {code}" : null,
            e.Attempt is { } n ? $"attempt {n} of {e.MaxAttempts}" : null,
        }.OfType<string>().ToArray();
        if (outcome.Length > 0)
        {
            text.Append('\n').Append(Escape(string.Join(", ", outcome)));
        }

        Add(text, "\nreason: ", e.Reason);
        Add(text, "\nlog: ", e.LogPath ?? e.LogStream);
        if (e.Counts is { } c)
        {
            text.Append($"\n{c.Complete}/{c.Total} complete, {c.Running} running, {c.Queued} queued, {c.Failed} failed, {c.Blocked} blocked, {c.Invalid} invalid");
        }

        foreach (var command in e.Commands)
        {
            text.Append("\n`").Append(Escape(command)).Append('`');
        }

        return text.ToString();
    }

    private static void Add(StringBuilder text, string label, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            text.Append(label).Append(Escape(value));
        }
    }

    /// <summary>Slack's three control characters in mrkdwn.</summary>
    internal static string Escape(string value) =>
        value.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);
}

using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Daemon.Notifications;

/// <summary>The event types a webhook can hear of.</summary>
public static class NotificationEvents
{
    public const string SlotFailed = "slot_failed";
    public const string SlotStuck = "slot_stuck";
    public const string WorkflowComplete = "workflow_complete";
    public const string WorkflowBlocked = "workflow_blocked";
    public const string WorkflowError = "workflow_error";
    public const string Daemon = "daemon";
    public const string Test = "test";

    public static IReadOnlyList<string> All { get; } = [SlotFailed, SlotStuck, WorkflowComplete, WorkflowBlocked, WorkflowError, Daemon];

    public static IReadOnlyList<string> Default { get; } = [SlotFailed, WorkflowComplete];
}

/// <summary>
/// One thing that happened and needs a person, in the <c>batchkeeper.event/1</c> schema (snake_case JSON). Its
/// <see cref="Id"/> is made from what happened (the workflow, the slot, the job, the attempt), not drawn at random: the
/// same failure found again after a crash has the same id, so the outbox holds it once and a receiver can drop repeats.
/// </summary>
public sealed record NotificationEvent
{
    public required string Id { get; init; }
    public required string Type { get; init; }
    public required DateTimeOffset Time { get; init; }

    /// <summary>One sentence for a person.</summary>
    public required string Summary { get; init; }

    public string? Project { get; init; }
    public string? Workflow { get; init; }
    public string? File { get; init; }
    public string? Sample { get; init; }
    public string? Analysis { get; init; }
    public string? JobName { get; init; }
    public string? JobId { get; init; }
    public string? Queue { get; init; }
    public string? Status { get; init; }
    public string? Reason { get; init; }
    public int? ExitCode { get; init; }
    public string? FailureClass { get; init; }
    public int? Attempt { get; init; }
    public int? MaxAttempts { get; init; }
    public string? LogStream { get; init; }

    /// <summary>For local jobs, the job's log file.</summary>
    public string? LogPath { get; init; }

    /// <summary>The workflow's counts after the pass.</summary>
    public SnapshotSummary? Counts { get; init; }

    /// <summary>The commands that show more, e.g. <c>batchkeeper status projects/demo/wordcount.json</c>.</summary>
    public IReadOnlyList<string> Commands { get; init; } = [];

    /// <summary>A stable id from the parts that make an event this event and no other.</summary>
    public static string IdOf(params object?[] parts)
    {
        var text = string.Join('\u001f', parts.Select(p => p?.ToString() ?? ""));
        return "evt_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..24];
    }
}

/// <summary>What is posted to one webhook: one or more events (a digest), with an id of its own.</summary>
public sealed record NotificationMessage
{
    public const string Schema = "batchkeeper.event/1";

    [JsonPropertyName("schema")]
    public string SchemaName { get; init; } = Schema;

    public required string Id { get; init; }
    public required DateTimeOffset Time { get; init; }
    public required IReadOnlyList<NotificationEvent> Events { get; init; }

    /// <summary>Events of the digest beyond those listed in <see cref="Events"/>.</summary>
    public int More { get; init; }
}

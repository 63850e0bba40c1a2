using System.Text.Json;
using System.Text.Json.Serialization;

namespace Batchkeeper.Core.Snapshots;

/// <summary>What a slot is doing, as the snapshot tells a person.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SlotState>))]
public enum SlotState
{
    /// <summary>Not submitted yet: waiting for the analysis before it.</summary>
    [JsonStringEnumMemberName("waiting")] Waiting,

    /// <summary>Submitted, not running yet (SUBMITTED, PENDING, RUNNABLE, STARTING).</summary>
    [JsonStringEnumMemberName("queued")] Queued,

    [JsonStringEnumMemberName("running")] Running,

    /// <summary>The job succeeded; its outputs are not visible yet (within the grace period).</summary>
    [JsonStringEnumMemberName("verifying")] Verifying,

    /// <summary>Failed, resubmission due at <c>next_attempt_at</c>.</summary>
    [JsonStringEnumMemberName("retrying")] Retrying,

    [JsonStringEnumMemberName("complete")] Complete,

    /// <summary>Used its attempts, or cannot succeed as configured; waits for a spec change or a retry request.</summary>
    [JsonStringEnumMemberName("failed_permanently")] FailedPermanently,

    /// <summary>An analysis before it failed for good.</summary>
    [JsonStringEnumMemberName("blocked")] Blocked,

    /// <summary>Its templates cannot be expanded; the message says why.</summary>
    [JsonStringEnumMemberName("invalid")] Invalid,

    [JsonStringEnumMemberName("cancelled")] Cancelled,
}

/// <summary>Why an attempt failed, which decides what happens next.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FailureClass>))]
public enum FailureClass
{
    /// <summary>Spot or host loss: resubmitted without using an attempt.</summary>
    [JsonStringEnumMemberName("interrupted")] Interrupted,

    /// <summary>
    /// Killed at its timeout (Batch's "Job attempt duration exceeded timeout", exit 137 like an out-of-memory kill):
    /// an ordinary failure, resubmitted after the backoff with the same memory.
    /// </summary>
    [JsonStringEnumMemberName("timed_out")] TimedOut,

    /// <summary>Resubmitted with more memory.</summary>
    [JsonStringEnumMemberName("out_of_memory")] OutOfMemory,

    /// <summary>Cannot succeed as configured: never resubmitted.</summary>
    [JsonStringEnumMemberName("misconfigured")] Misconfigured,

    /// <summary>A job it depended on failed: not a failure of its own.</summary>
    [JsonStringEnumMemberName("blocked")] Blocked,

    [JsonStringEnumMemberName("failed")] Failed,

    [JsonStringEnumMemberName("succeeded_without_outputs")] SucceededWithoutOutputs,

    /// <summary>Terminated because the workflow was cancelled.</summary>
    [JsonStringEnumMemberName("cancelled")] Cancelled,
}

/// <summary>
/// <c>&lt;name&gt;.status.json</c>: the person's view of a workflow and the daemon's durable memory of it
/// (job ids, attempts). Schema <c>batchkeeper.status/1</c>.
/// </summary>
public sealed class WorkflowSnapshot
{
    public const string SchemaName = "batchkeeper.status/1";

    public string Schema { get; set; } = SchemaName;
    public string Project { get; set; } = "";
    public string? Workflow { get; set; }
    public string File { get; set; } = "";
    public string? DefinitionSha256 { get; set; }
    public string Backend { get; set; } = "";
    public bool Cancel { get; set; }
    public DateTimeOffset ReconciledAt { get; set; }
    public DateTimeOffset? NextReconcileAt { get; set; }
    public SnapshotSummary Summary { get; set; } = new();
    public List<SnapshotError> Errors { get; set; } = [];
    public List<string> Notes { get; set; } = [];

    /// <summary>Ids of the retry requests already applied (the newest 100), so none is applied twice.</summary>
    public List<string> AppliedRequests { get; set; } = [];

    /// <summary>
    /// Job names whose SubmitJob failed in a way that leaves open whether Batch created the job (a timeout, a 5xx):
    /// the next pass that would submit them looks for them by name first.
    /// </summary>
    public List<string> UnconfirmedSubmissions { get; set; } = [];
    public List<SlotRecord> Slots { get; set; } = [];

    /// <summary>A deep copy: editing it leaves this snapshot as it was (a pass never edits the one it started from).</summary>
    public WorkflowSnapshot Copy()
    {
        var copy = (WorkflowSnapshot)MemberwiseClone();
        copy.Summary = (SnapshotSummary)Summary.MemberwiseCopy();
        copy.Errors = [.. Errors];
        copy.Notes = [.. Notes];
        copy.AppliedRequests = [.. AppliedRequests];
        copy.UnconfirmedSubmissions = [.. UnconfirmedSubmissions];
        copy.Slots = Slots.ConvertAll(slot => slot.Copy());
        return copy;
    }
}

public sealed class SnapshotSummary
{
    public int Total { get; set; }
    public int Complete { get; set; }
    public int Running { get; set; }
    public int Queued { get; set; }
    public int Waiting { get; set; }
    public int Retrying { get; set; }
    public int Failed { get; set; }
    public int Blocked { get; set; }
    public int Invalid { get; set; }
    public int Cancelled { get; set; }

    internal object MemberwiseCopy() => MemberwiseClone();

    public static SnapshotSummary Of(IEnumerable<SlotRecord> slots)
    {
        var summary = new SnapshotSummary();
        foreach (var slot in slots)
        {
            summary.Total++;
            switch (slot.State)
            {
                case SlotState.Complete: summary.Complete++; break;
                case SlotState.Running or SlotState.Verifying: summary.Running++; break;
                case SlotState.Queued: summary.Queued++; break;
                case SlotState.Waiting: summary.Waiting++; break;
                case SlotState.Retrying: summary.Retrying++; break;
                case SlotState.FailedPermanently: summary.Failed++; break;
                case SlotState.Blocked: summary.Blocked++; break;
                case SlotState.Invalid: summary.Invalid++; break;
                case SlotState.Cancelled: summary.Cancelled++; break;
            }
        }

        return summary;
    }
}

public sealed record SnapshotError(DateTimeOffset At, string Message);

/// <summary>One job ever submitted or adopted for a slot.</summary>
public sealed class AttemptRecord
{
    public string JobId { get; set; } = "";

    /// <summary>The job queue it was submitted to (null in snapshots written before it was recorded).</summary>
    public string? Queue { get; set; }
    public int Attempt { get; set; }
    public string? Status { get; set; }
    public FailureClass? FailureClass { get; set; }
    public string? StatusReason { get; set; }
    public string? ContainerReason { get; set; }
    public int? ExitCode { get; set; }
    public int? Vcpus { get; set; }
    public int? Memory { get; set; }
    public string? LogStream { get; set; }
    public DateTimeOffset? SubmittedAt { get => UtcTime.Read(_submittedAt); set => _submittedAt = UtcTime.Write(value); }
    private long _submittedAt = UtcTime.None;
    public DateTimeOffset? StartedAt { get => UtcTime.Read(_startedAt); set => _startedAt = UtcTime.Write(value); }
    private long _startedAt = UtcTime.None;
    public DateTimeOffset? StoppedAt { get => UtcTime.Read(_stoppedAt); set => _stoppedAt = UtcTime.Write(value); }
    private long _stoppedAt = UtcTime.None;

    /// <summary>True once this attempt's outcome has been acted on (so a restart does not act twice).</summary>
    public bool Settled { get; set; }

    public AttemptRecord Copy() => (AttemptRecord)MemberwiseClone();
}

/// <summary>
/// A time kept as the ticks of its UTC instant, <see cref="None"/> for none: what a <c>DateTimeOffset?</c> field says in a
/// third of its size. The offset is not kept: the daemon records UTC, and times are compared as instants anyway.
/// </summary>
internal static class UtcTime
{
    public const long None = long.MinValue;

    public static DateTimeOffset? Read(long ticks) => ticks == None ? null : new DateTimeOffset(ticks, TimeSpan.Zero);

    public static long Write(DateTimeOffset? time) => time is { } value ? value.UtcTicks : None;
}

/// <summary>The JSON form of snapshots: snake_case, indented, nulls kept so every field is always there.</summary>
public static class SnapshotJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.General)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        AllowTrailingCommas = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
    };
}

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

public sealed class OutputStatus
{
    public string Uri { get; set; } = "";
    public bool Exists { get; set; }

    public OutputStatus Copy() => (OutputStatus)MemberwiseClone();
}

/// <summary>One job slot (sample × analysis) with its current job and every attempt before it.</summary>
/// <remarks>
/// A daemon holds one per slot of every workflow it manages (millions, at an institute's scale), so its times are kept
/// as UTC ticks (8 bytes, where a <c>DateTimeOffset?</c> takes 24); see <see cref="UtcTime"/>.
/// </remarks>
public sealed class SlotRecord
{
    public string Sample { get; set; } = "";
    public string Analysis { get; set; } = "";
    public SlotState State { get; set; }

    /// <summary>Why the slot is where it is, in words, when that is not obvious from the state.</summary>
    public string? Message { get; set; }

    public string? JobName { get; set; }
    public string? JobId { get; set; }
    public string? BatchStatus { get; set; }

    /// <summary>The ordinary attempt the current (or next) job is; interruptions do not count.</summary>
    public int Attempt { get; set; }
    public int MaxAttempts { get; set; }
    public int Interruptions { get; set; }
    public FailureClass? FailureClass { get; set; }
    public string? StatusReason { get; set; }

    /// <summary>The container's own reason (e.g. <c>OutOfMemoryError: Container killed…</c>), when Batch gives one.</summary>
    public string? ContainerReason { get; set; }
    public int? ExitCode { get; set; }
    public string? LogStream { get; set; }
    public int? Vcpus { get; set; }

    /// <summary>Memory in MiB the next or current job asks for (escalated after out-of-memory).</summary>
    public int? Memory { get; set; }
    /// <summary>The slot's outputs and whether each was found; an array, not a list: a slot holds one or two, for good.</summary>
    public OutputStatus[] Outputs { get; set; } = [];
    public DateTimeOffset? SubmittedAt { get => UtcTime.Read(_submittedAt); set => _submittedAt = UtcTime.Write(value); }
    private long _submittedAt = UtcTime.None;
    public DateTimeOffset? StartedAt { get => UtcTime.Read(_startedAt); set => _startedAt = UtcTime.Write(value); }
    private long _startedAt = UtcTime.None;
    public DateTimeOffset? StoppedAt { get => UtcTime.Read(_stoppedAt); set => _stoppedAt = UtcTime.Write(value); }
    private long _stoppedAt = UtcTime.None;
    public DateTimeOffset? NextAttemptAt { get => UtcTime.Read(_nextAttemptAt); set => _nextAttemptAt = UtcTime.Write(value); }
    private long _nextAttemptAt = UtcTime.None;

    /// <summary>When the current job was first seen RUNNABLE (cleared when it moves on).</summary>
    public DateTimeOffset? RunnableSince { get => UtcTime.Read(_runnableSince); set => _runnableSince = UtcTime.Write(value); }
    private long _runnableSince = UtcTime.None;

    /// <summary>The job has waited RUNNABLE with a MISCONFIGURATION or CAPACITY reason for too long.</summary>
    public bool Stuck { get; set; }
    public List<AttemptRecord> History { get; set; } = [];

    /// <summary>A deep copy (its outputs and history too).</summary>
    public SlotRecord Copy()
    {
        var copy = (SlotRecord)MemberwiseClone();
        copy.Outputs = Array.ConvertAll(Outputs, output => output.Copy());
        copy.History = History.ConvertAll(attempt => attempt.Copy());
        return copy;
    }
}

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

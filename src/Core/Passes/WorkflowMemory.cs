using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Core.Workflows;

namespace Batchkeeper.Core.Passes;

/// <summary>
/// What the passes of one workflow remember between them: the snapshot the next pass starts from, the last good
/// definition, the plan and what was already said in the log. Kept by whoever manages the workflow (the Daemon's
/// registry) and gone with it; used by one pass at a time (passes of one workflow never run at once).
/// </summary>
public sealed class WorkflowMemory
{
    /// <summary>The snapshot of the last pass (or read from disk before the first); null when there is none.</summary>
    public WorkflowSnapshot? Snapshot { get; internal set; }

    /// <summary>True once the snapshot on disk was read: it is read once, before the first pass.</summary>
    internal bool SnapshotLoaded { get; set; }

    /// <summary>
    /// Whether <see cref="Snapshot"/> is what this process's last pass returned, having run to its end, and so
    /// knows every job submitted for the workflow. False for a snapshot read from disk (the daemon that wrote it
    /// may have died right after a SubmitJob) and after a failed pass.
    /// </summary>
    internal bool SnapshotIsComplete { get; set; }

    /// <summary>
    /// Whether the store holds what <see cref="Snapshot"/> says (but for the pass's own times): true once it was read
    /// from there or written, false after a write that failed, so that the next pass writes whatever it finds.
    /// </summary>
    internal bool SnapshotStored { get; set; }

    /// <summary>The last definition that could be used, kept while a broken edit is reported, and when it was read.</summary>
    internal LoadedWorkflow? LastGood { get; set; }
    internal DateTimeOffset LastGoodAt { get; set; }

    /// <summary>The plan of the last pass, and the hashes of the workflow and metadata it was made from.</summary>
    internal WorkflowPlan? Plan { get; set; }
    internal (string Workflow, string Samples) PlanKey { get; set; }

    /// <summary>The errors and the progress last logged, so that each is logged when it changes, not every pass.</summary>
    internal string? LastErrorText { get; set; }
    internal string? LastProgress { get; set; }

    /// <summary>Why slots were last said to be invalid (null: nothing said yet, empty: none were).</summary>
    internal string? LastInvalidText { get; set; }

    /// <summary>The write time of the half-written file last said to be read again, so that one write is said once.</summary>
    internal DateTimeOffset? HalfWrittenSaid { get; set; }

    /// <summary>Failed snapshot writes, logged once per cause while they keep failing (a full disk, a read-only folder).</summary>
    internal RepeatedWriteFailure SnapshotWrites { get; } = new();
}

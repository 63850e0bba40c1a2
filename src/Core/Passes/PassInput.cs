using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Reconciliation;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Passes;

/// <summary>Everything one reconcile pass starts from. <see cref="Previous"/> is only read: the pass never edits it.</summary>
/// <param name="Now">The pass's one clock read: every time the pass records or compares is this one.</param>
/// <param name="StopSubmitting">
/// Once cancelled (the daemon is stopping), the pass submits nothing more but still finishes and returns its
/// snapshot, so that what it did submit is recorded. A signal, not the pass's cancellation.
/// </param>
public sealed record PassInput(
    WorkflowPlan Plan,
    WorkflowSnapshot? Previous,
    IReadOnlyList<RetryRequest> RetryRequests,
    DateTimeOffset Now,
    CancellationToken StopSubmitting = default)
{
    /// <summary>
    /// True when <see cref="Previous"/> is what the last pass of this process returned, having run to its end: it then
    /// knows every job submitted for the workflow, and a pass looks for jobs by name only for submissions left
    /// unconfirmed. False for a snapshot read from disk, at start-up or after a failed pass: the daemon may have died
    /// between a SubmitJob and the snapshot, so a pass that would submit lists the workflow's jobs first.
    /// </summary>
    public bool PreviousIsComplete { get; init; }

    /// <summary>Of the definition the plan was made from (null: keep the previous snapshot's).</summary>
    public string? DefinitionSha256 { get; init; }

    /// <summary>The workflow's own notes, copied into the snapshot.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>Problems found before the pass (a broken edit, an unusable retry file), recorded at <see cref="Now"/>.</summary>
    public IReadOnlyList<string> Errors { get; init; } = [];

    /// <summary>When the next pass is due, for readers of the snapshot.</summary>
    public DateTimeOffset? NextReconcileAt { get; init; }
}

/// <summary>What a pass produced: a new snapshot (sharing no object with the previous one) and what changed.</summary>
/// <param name="Transitions">The slots whose state or job id changed in this pass, in the snapshot's order.</param>
/// <param name="Submitted">Jobs submitted by this pass.</param>
public sealed record PassResult(WorkflowSnapshot Snapshot, IReadOnlyList<SlotTransition> Transitions, int Submitted);

using Batchkeeper.Core.Passes;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Daemon.Registry;

/// <summary>
/// One entry of the change feed. <see cref="Sequence"/> numbers every change of the registry, starting at 1, in the
/// order they were published: for one workflow, always Added, then its passes, then Removed.
/// </summary>
public abstract record WorkflowChange(string Path, long Sequence);

/// <summary>A workflow file is now managed. Its first pass follows.</summary>
public sealed record WorkflowAdded(string Path, long Sequence) : WorkflowChange(Path, Sequence);

/// <summary>A workflow file is no longer managed (its file is gone). Its jobs are left as they are.</summary>
public sealed record WorkflowRemoved(string Path, long Sequence) : WorkflowChange(Path, Sequence);

/// <summary>
/// A pass of a managed workflow ended: its snapshot, with the pass's times (the file is written only when its content
/// changed, see <see cref="Core.Snapshots.SnapshotContent"/>), and the slots whose state or job
/// changed in that pass, in the snapshot's order. A pass that changed nothing has no transitions.
/// </summary>
public sealed record PassCompleted(string Path, long Sequence, WorkflowSnapshot Snapshot, IReadOnlyList<SlotTransition> Transitions)
    : WorkflowChange(Path, Sequence)
{
    /// <summary>How long the pass took, when the publisher measured it.</summary>
    public TimeSpan? Took { get; init; }

    /// <summary>
    /// True when the pass could not write its snapshot: <see cref="Snapshot"/> is what the pass found, but it is not on
    /// disk, so whatever waits for a state to be durable (an SQS message's deletion) must wait for a later pass.
    /// </summary>
    public bool NotWritten { get; init; }
}

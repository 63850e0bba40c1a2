using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Ports;

/// <summary>Where each workflow's snapshot is kept between passes (a file beside the workflow, in the Daemon).</summary>
public interface ISnapshotStore
{
    /// <summary>The last snapshot, or null when there is none or it cannot be read (it is then rebuilt).</summary>
    Task<WorkflowSnapshot?> LoadAsync(WorkflowLocation workflow, CancellationToken cancellationToken);

    /// <summary>Replaces the snapshot atomically: a reader sees the old one or the new one, never half of either.</summary>
    /// <exception cref="IOException">It cannot be written (a full disk, a missing folder).</exception>
    /// <exception cref="UnauthorizedAccessException">It may not be written (a read-only folder).</exception>
    Task SaveAsync(WorkflowLocation workflow, WorkflowSnapshot snapshot, CancellationToken cancellationToken);

    /// <summary>
    /// True when the stored snapshot is still the one this store last wrote or read for the workflow: not removed or
    /// replaced since (by hand, or by another process). A pass whose snapshot says the same as that one writes nothing,
    /// and only then; a snapshot removed or edited meanwhile is written again. Cheap: a pass asks it every time.
    /// </summary>
    bool HoldsLast(WorkflowLocation workflow);
}

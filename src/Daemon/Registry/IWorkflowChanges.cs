using System.Threading.Channels;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Daemon.Registry;

/// <summary>
/// The in-process change feed of the managed workflows: what the scheduler, the dashboard and systemd's STATUS read
/// (and later notifications, the status page and metrics). Nothing read from it calls back into the pass.
/// </summary>
public interface IWorkflowChanges
{
    /// <summary>
    /// A reader of its own for every change from now on, in publication order, starting with a replay of the present:
    /// <see cref="WorkflowAdded"/> and the last <see cref="PassCompleted"/> of each managed workflow, in the order they
    /// were first published. A subscriber that reads slowly only makes its own queue longer: publishing never waits
    /// for it, and no subscriber code runs on the pass's thread. Cancelling <paramref name="unsubscribe"/> completes the reader.
    /// </summary>
    ChannelReader<WorkflowChange> Subscribe(CancellationToken unsubscribe);

    /// <summary>The last snapshot of every managed workflow that has had a pass.</summary>
    IReadOnlyCollection<WorkflowSnapshot> Snapshots { get; }
}

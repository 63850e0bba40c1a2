using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Daemon.Registry;

/// <summary>
/// One managed workflow, from its <see cref="WorkflowAdded"/> to its <see cref="WorkflowRemoved"/>: the registry's
/// record of it and the pass's memory of it, which goes when the workflow goes. A workflow removed and added again is
/// a new <see cref="ManagedWorkflow"/>: a pass still running on the old one publishes nothing.
/// </summary>
public sealed class ManagedWorkflow
{
    private object? _memory;

    internal ManagedWorkflow(string path, long addedAt)
    {
        Path = path;
        AddedAt = addedAt;
    }

    public string Path { get; }

    /// <summary>The sequence number of its <see cref="WorkflowAdded"/>.</summary>
    internal long AddedAt { get; }

    /// <summary>The snapshot of its last pass, with that pass's change (for the replay to a new subscriber).</summary>
    internal PassCompleted? LastPass { get; set; }

    public WorkflowSnapshot? Snapshot => LastPass?.Snapshot;

    /// <summary>
    /// What the pass remembers of this workflow between passes (the last good definition, the plan, the snapshot it
    /// starts from), made on first use. Passes of one workflow never run at once (Quartz), so only one uses it at a time.
    /// </summary>
    public T Memory<T>()
        where T : class, new()
    {
        var memory = Volatile.Read(ref _memory) ?? Interlocked.CompareExchange(ref _memory, new T(), null) ?? _memory;
        return (T)memory!;
    }
}

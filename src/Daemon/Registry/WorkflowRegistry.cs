using System.Threading.Channels;
using Batchkeeper.Core.Passes;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Daemon.Registry;

/// <summary>
/// The one list of managed workflows. The watcher adds and removes them; the pass publishes what it did; everyone
/// else subscribes to <see cref="IWorkflowChanges"/>. Every change is numbered and written to every subscriber's own
/// queue under one lock, so each subscriber sees them in one order: Added, then the passes, then Removed.
/// </summary>
public sealed class WorkflowRegistry : IWorkflowChanges
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ManagedWorkflow> _workflows = new(StringComparer.Ordinal);
    private readonly List<ChannelWriter<WorkflowChange>> _subscribers = [];
    private long _sequence;

    /// <summary>The sequence number of the last change published (0 before the first).</summary>
    public long Sequence
    {
        get
        {
            lock (_lock)
            {
                return _sequence;
            }
        }
    }

    /// <summary>Starts managing a workflow file. True when it was not managed (a <see cref="WorkflowAdded"/> is published).</summary>
    public bool Add(string path)
    {
        lock (_lock)
        {
            if (_workflows.ContainsKey(path))
            {
                return false;
            }

            var added = new WorkflowAdded(path, ++_sequence);
            _workflows[path] = new ManagedWorkflow(path, added.Sequence);
            Write(added);
            return true;
        }
    }

    /// <summary>
    /// Stops managing a workflow file, forgetting what its passes remembered. True when it was managed (a
    /// <see cref="WorkflowRemoved"/> is published). Its jobs are left as they are.
    /// </summary>
    public bool Remove(string path)
    {
        lock (_lock)
        {
            if (!_workflows.Remove(path))
            {
                return false;
            }

            Write(new WorkflowRemoved(path, ++_sequence));
            return true;
        }
    }

    public bool IsManaged(string path)
    {
        lock (_lock)
        {
            return _workflows.ContainsKey(path);
        }
    }

    /// <summary>The workflow files managed now.</summary>
    public IReadOnlyCollection<string> Paths
    {
        get
        {
            lock (_lock)
            {
                return _workflows.Keys.ToArray();
            }
        }
    }

    /// <summary>The managed workflows whose last snapshot matches <paramref name="match"/>.</summary>
    public IReadOnlyList<string> PathsWhere(Func<WorkflowSnapshot, bool> match)
    {
        ManagedWorkflow[] workflows;
        lock (_lock)
        {
            workflows = [.. _workflows.Values];
        }

        return workflows.Where(w => w.Snapshot is { } snapshot && match(snapshot)).Select(w => w.Path).ToArray();
    }

    public IReadOnlyCollection<WorkflowSnapshot> Snapshots
    {
        get
        {
            lock (_lock)
            {
                return _workflows.Values.Select(w => w.Snapshot).OfType<WorkflowSnapshot>().ToArray();
            }
        }
    }

    /// <summary>The workflow managed at <paramref name="path"/>, or null when it is not (or no longer) managed.</summary>
    public ManagedWorkflow? Get(string path)
    {
        lock (_lock)
        {
            return _workflows.GetValueOrDefault(path);
        }
    }

    /// <summary>
    /// Publishes the end of a pass of <paramref name="workflow"/>. Dropped (false) when that workflow has been removed
    /// since, even if its file was added again: a pass that outlives its workflow brings no row back to life.
    /// </summary>
    /// <param name="took">How long the pass took, for the dashboard (null: not measured).</param>
    public bool Publish(ManagedWorkflow workflow, WorkflowSnapshot snapshot, IReadOnlyList<SlotTransition> transitions, TimeSpan? took = null, bool notWritten = false)
    {
        lock (_lock)
        {
            if (!_workflows.TryGetValue(workflow.Path, out var current) || !ReferenceEquals(current, workflow))
            {
                return false;
            }

            var pass = new PassCompleted(workflow.Path, ++_sequence, snapshot, transitions) { Took = took, NotWritten = notWritten };
            workflow.LastPass = pass;
            Write(pass);
            return true;
        }
    }

    public ChannelReader<WorkflowChange> Subscribe(CancellationToken unsubscribe)
    {
        // Unbounded: a write never waits, so a subscriber that falls behind cannot hold up a pass (it only queues).
        var channel = Channel.CreateUnbounded<WorkflowChange>(new UnboundedChannelOptions { SingleWriter = true });
        lock (_lock)
        {
            var replay = new List<WorkflowChange>(_workflows.Count * 2);
            foreach (var workflow in _workflows.Values)
            {
                replay.Add(new WorkflowAdded(workflow.Path, workflow.AddedAt));
                if (workflow.LastPass is { } pass)
                {
                    replay.Add(pass);
                }
            }

            foreach (var change in replay.OrderBy(c => c.Sequence))
            {
                channel.Writer.TryWrite(change);
            }

            _subscribers.Add(channel.Writer);
        }

        unsubscribe.Register(() =>
        {
            lock (_lock)
            {
                _subscribers.Remove(channel.Writer);
            }

            channel.Writer.TryComplete();
        });
        return channel.Reader;
    }

    /// <summary>Under <see cref="_lock"/>: to every subscriber, never waiting (the channels are unbounded).</summary>
    private void Write(WorkflowChange change)
    {
        foreach (var subscriber in _subscribers)
        {
            subscriber.TryWrite(change);
        }
    }
}

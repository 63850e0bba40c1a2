using System.Text.Json;
using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Tests.Fakes;

/// <summary>Snapshots kept as their JSON text, as a file would keep them; a save can be made to fail.</summary>
public sealed class FakeSnapshotStore : ISnapshotStore
{
    private string? _json;

    /// <summary>The text this store last read or wrote: <see cref="HoldsLast"/> is true while it is still what is kept.</summary>
    private string? _known;

    /// <summary>Every save from now on throws this (null: saves work).</summary>
    public Exception? SaveFailure { get; set; }

    public int Saves { get; private set; }

    /// <summary>The snapshot as last saved, read back; null when none was saved.</summary>
    public WorkflowSnapshot? Saved => _json is null ? null : JsonSerializer.Deserialize<WorkflowSnapshot>(_json, SnapshotJson.Options);

    /// <summary>Puts a snapshot "on disk", as a daemon that ran before would have left it.</summary>
    public void Put(WorkflowSnapshot snapshot) => _json = JsonSerializer.Serialize(snapshot, SnapshotJson.Options);

    /// <summary>Removes the snapshot "from disk", as a person deleting the file would.</summary>
    public void Delete() => _json = null;

    public Task<WorkflowSnapshot?> LoadAsync(WorkflowLocation workflow, CancellationToken cancellationToken)
    {
        _known = _json;
        return Task.FromResult(Saved);
    }

    public bool HoldsLast(WorkflowLocation workflow) => _json is not null && ReferenceEquals(_json, _known);

    public Task SaveAsync(WorkflowLocation workflow, WorkflowSnapshot snapshot, CancellationToken cancellationToken)
    {
        if (SaveFailure is { } failure)
        {
            return Task.FromException(failure);
        }

        Put(snapshot);
        _known = _json;
        Saves++;
        return Task.CompletedTask;
    }
}

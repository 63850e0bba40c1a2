using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Core.Workflows;

namespace Batchkeeper.Core.Passes;

/// <summary>The snapshot of a workflow that could not be reconciled now: its slots as last seen, in a copy.</summary>
public static class LastSeen
{
    /// <summary>
    /// A copy of <paramref name="previous"/> (so job ids are kept and the previous snapshot is left as it was), or an
    /// empty snapshot, stamped with this pass's time and errors. It has no transitions: nothing was observed.
    /// </summary>
    /// <param name="definition">The definition the failed pass was made from; null keeps the previous hash and notes.</param>
    public static WorkflowSnapshot Of(
        WorkflowSnapshot? previous, WorkflowLocation location, string backend, string? workflowName,
        DateTimeOffset now, DateTimeOffset nextReconcileAt, IEnumerable<string> errors, LoadedWorkflow? definition = null)
    {
        var snapshot = previous?.Copy() ?? new WorkflowSnapshot { Project = location.Project, File = location.FileName };
        snapshot.Backend = backend;
        snapshot.Workflow = workflowName ?? snapshot.Workflow;
        snapshot.Summary = SnapshotSummary.Of(snapshot.Slots);
        snapshot.ReconciledAt = now;
        snapshot.NextReconcileAt = nextReconcileAt;
        snapshot.Errors = errors.Select(message => new SnapshotError(now, message)).ToList();
        if (definition is not null)
        {
            snapshot.DefinitionSha256 = definition.Sha256;
            snapshot.Notes = [.. definition.Workflow.Notes];
        }

        return snapshot;
    }
}

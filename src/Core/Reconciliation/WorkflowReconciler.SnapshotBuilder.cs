using Batchkeeper.Core.Passes;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Reconciliation;

/// <summary>The snapshot a pass returns, built in one place.</summary>
public sealed partial class WorkflowReconciler
{
    /// <summary>The one place the pass's snapshot is made: its times, hashes, notes and errors are each set once, here.</summary>
    private WorkflowSnapshot BuildSnapshot(PassState pass, PassInput input)
    {
        var snapshot = new WorkflowSnapshot
        {
            Project = pass.Project,
            Workflow = pass.Workflow,
            File = pass.Plan.Location.FileName,
            Backend = backend.Name,
            Cancel = pass.Plan.Cancel,
            ReconciledAt = pass.Now,
            Slots = [.. pass.Records],
            NextReconcileAt = input.NextReconcileAt,
            Errors = pass.Errors.Concat(input.Errors).Select(e => new SnapshotError(pass.Now, e)).ToList(),
            Notes = [.. input.Notes],
            AppliedRequests = pass.AppliedRequests.TakeLast(100).ToList(),
            UnconfirmedSubmissions = [.. pass.Unconfirmed.Order(StringComparer.Ordinal)],
            DefinitionSha256 = input.DefinitionSha256 ?? input.Previous?.DefinitionSha256,
        };
        snapshot.Summary = SnapshotSummary.Of(snapshot.Slots);
        Log.PassDone(_logger, ProgressText.Of(snapshot.Summary), pass.Submitted);
        return snapshot;
    }
}

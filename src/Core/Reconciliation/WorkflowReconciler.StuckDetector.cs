using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Reconciliation;

/// <summary>Stuck detection: a job waiting RUNNABLE for a reason that means it may never start.</summary>
public sealed partial class WorkflowReconciler
{
    /// <summary>
    /// A job that waits RUNNABLE with a MISCONFIGURATION or CAPACITY reason may never start (no compute environment
    /// can run it). After <see cref="ReconcilerOptions.StuckRunnableAfter"/> it is flagged, and terminated if configured.
    /// </summary>
    private async Task CheckStuckAsync(PassState pass, SlotRecord record, JobDetail detail, CancellationToken cancellationToken)
    {
        record.Stuck = false;
        var reason = detail.StatusReason ?? "";
        if (detail.Status != JobStatus.Runnable || record.RunnableSince is not { } since
            || !(reason.StartsWith("MISCONFIGURATION:", StringComparison.Ordinal) || reason.StartsWith("CAPACITY:", StringComparison.Ordinal))
            || pass.Now - since < _options.StuckRunnableAfter)
        {
            return;
        }

        var waited = TimeSpan.FromSeconds(Math.Round((pass.Now - since).TotalSeconds));
        using var scope = SlotScope(pass, record.Sample, record.Analysis, detail.JobId);
        record.Stuck = true;
        record.Message = $"stuck RUNNABLE for {waited}: {reason}";
        if (_options.TerminateStuckJobs)
        {
            await backend.TerminateAsync(detail.JobId, $"{FailureClassifier.StuckReasonPrefix} after {waited}: {reason}", cancellationToken);
            record.Message += "; terminated, it will be reported as misconfigured";
        }

        Log.Stuck(_logger, detail.JobId, Logging.Readable.Duration(waited), reason,
            _options.TerminateStuckJobs ? "; terminated." : ".");
    }
}

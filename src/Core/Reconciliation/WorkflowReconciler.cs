using Batchkeeper.Core.Passes;
using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Snapshots;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Batchkeeper.Core.Reconciliation;

/// <summary>
/// One pass over one workflow, level-triggered and idempotent: it reads the outputs and the jobs again,
/// takes the previous snapshot only as memory of job ids and attempts, submits what is missing in chain
/// order, and returns the new snapshot. It may be killed at any point and run again: a job submitted
/// just before a crash is found by name and adopted, never submitted twice.
/// </summary>
public sealed partial class WorkflowReconciler(
    IJobBackend backend,
    IOutputStore outputStore,
    ReconcilerOptions? options = null,
    ILogger<WorkflowReconciler>? logger = null)
{
    private readonly ReconcilerOptions _options = options ?? new ReconcilerOptions();
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    /// <summary>The backend's name, for snapshots.</summary>
    public string BackendName => backend.Name;

    /// <summary>
    /// Reconciles the plan once and returns the snapshot to write with the slot transitions of this pass. The
    /// previous snapshot is not edited: each slot starts from a copy of its previous record.
    /// </summary>
    public async Task<PassResult> ReconcileAsync(PassInput input, CancellationToken cancellationToken)
    {
        var previous = input.Previous;
        var before = SlotStates.Of(previous);
        var pass = new PassState(input.Plan, input.Now, input.StopSubmitting) { PreviousReconciledAt = previous?.ReconciledAt };
        CarryOver(pass, previous);
        ApplyRetries(pass, previous, input.RetryRequests);
        await CheckOutputsAsync(pass, cancellationToken);
        await RefreshJobsAsync(pass, pass.WithActiveJob(), cancellationToken);

        if (input.Plan.Cancel)
        {
            await CancelAsync(pass, cancellationToken);
        }
        else
        {
            await AdoptUnrecordedJobsAsync(pass, previous, input.PreviousIsComplete, cancellationToken);
            await Parallel.ForEachAsync(
                pass.Chains(),
                new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _options.SubmitParallelism), CancellationToken = cancellationToken },
                async (chain, ct) => await AdvanceChainAsync(pass, chain, ct));
        }

        var snapshot = BuildSnapshot(pass, input);
        return new PassResult(snapshot, before.To(snapshot), pass.Submitted);
    }

    /// <summary>Step 0: each slot starts from its previous record, unless its spec (and so its job name) changed.</summary>
    private void CarryOver(PassState pass, WorkflowSnapshot? previous)
    {
        var old = new Dictionary<(string, string), SlotRecord>();
        foreach (var record in previous?.Slots ?? [])
        {
            old.TryAdd((record.Sample, record.Analysis), record);
        }

        for (var i = 0; i < pass.Slots.Count; i++)
        {
            var slot = pass.Slots[i];
            old.TryGetValue((slot.Sample, slot.Analysis), out var before);
            SlotRecord record;
            if (slot.Spec is null)
            {
                record = before?.Copy() ?? new SlotRecord();
                record.State = SlotState.Invalid;
                record.Message = slot.Error;
            }
            else if (before is not null && before.JobName == slot.Spec.JobName)
            {
                record = before.Copy();
                if (record.State is not (SlotState.FailedPermanently or SlotState.Retrying))
                {
                    // Messages of passing states are worked out again below; those of settled decisions stay.
                    record.Message = null;
                }
            }
            else
            {
                if (before?.JobName is not null && before.State != SlotState.Invalid)
                {
                    Log.SpecChanged(_logger, pass.Project, pass.Workflow, slot.Sample, slot.Analysis, before.JobId ?? "-", slot.Spec.JobName);
                }

                record = new SlotRecord { State = SlotState.Waiting };
            }

            record.Sample = slot.Sample;
            record.Analysis = slot.Analysis;
            if (slot.Spec is { } spec)
            {
                record.JobName = spec.JobName;
                record.MaxAttempts = spec.Retry.MaxAttempts;
                record.Memory ??= spec.Job.MemoryMiB;
                record.Vcpus ??= spec.Job.Vcpus;
            }

            pass.Records[i] = record;
        }
    }

    /// <summary>Gives the permanently failed slots a request names a fresh budget: attempts and interruptions start again.</summary>
    private void ApplyRetries(PassState pass, WorkflowSnapshot? previous, IReadOnlyList<RetryRequest> retries)
    {
        var applied = previous?.AppliedRequests ?? [];
        pass.AppliedRequests.AddRange(applied);
        foreach (var request in retries.Where(r => !applied.Contains(r.Id)))
        {
            for (var i = 0; i < pass.Records.Length; i++)
            {
                var record = pass.Records[i];
                if (record.State != SlotState.FailedPermanently || pass.Slots[i].Spec is null || !request.Matches(record.Sample, record.Analysis))
                {
                    continue;
                }

                // Memory raised after out-of-memory failures is kept: starting low again would waste attempts.
                record.State = SlotState.Waiting;
                record.Attempt = 0;
                record.Interruptions = 0;
                record.FailureClass = null;
                record.NextAttemptAt = null;
                record.Message = $"retry requested at {request.RequestedAt:O}";
                Log.RetryApplied(_logger, pass.Project, pass.Workflow, record.Sample, record.Analysis,
                    record.History.LastOrDefault()?.JobId ?? "-", pass.Slots[i].Spec!.Retry.MaxAttempts);
            }

            pass.AppliedRequests.Add(request.Id);
        }
    }
}

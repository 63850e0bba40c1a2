using Batchkeeper.Core.Passes;
using Batchkeeper.Core.Planning;
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
    /// previous snapshot is not edited: a slot's record is copied before its first change, and the records that
    /// did not change are shared by the two snapshots.
    /// </summary>
    public async Task<PassResult> ReconcileAsync(PassInput input, CancellationToken cancellationToken)
    {
        var previous = input.Previous;
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
        return new PassResult(snapshot, pass.Transitions(), pass.Submitted);
    }

    /// <summary>The scope of one slot's lines, opened only around a line about it: a steady pass opens none.</summary>
    private IDisposable? SlotScope(PassState pass, string sample, string analysis, string? jobId = null) =>
        Logging.LogScopes.Slot(_logger, pass.Project, pass.Plan.Location.FileName, sample, analysis, jobId);

    /// <summary>
    /// Step 0: each slot starts from its previous record, unless its spec (and so its job name) changed. A record that
    /// needs no change is shared with the previous snapshot, not copied; see <see cref="PassState.Edit"/>.
    /// </summary>
    private void CarryOver(PassState pass, WorkflowSnapshot? previous)
    {
        var old = PreviousRecords(pass, previous);
        for (var i = 0; i < pass.Count; i++)
        {
            var slot = pass.Slots[i];
            var before = old[i];
            if (slot.Spec is null)
            {
                if (before is { State: SlotState.Invalid } && before.Message == slot.Error && IsStamped(before, slot))
                {
                    pass.Share(i, before);
                    continue;
                }

                var record = before?.Copy() ?? new SlotRecord();
                record.State = SlotState.Invalid;
                record.Message = slot.Error;
                Stamp(record, slot);
                pass.Own(i, record, before);
            }
            else if (before is not null && before.JobName == slot.Spec.JobName)
            {
                // Messages of passing states are worked out again below; those of settled decisions stay.
                var keepsMessage = before.State is SlotState.FailedPermanently or SlotState.Retrying;
                if ((keepsMessage || before.Message is null) && IsStamped(before, slot))
                {
                    pass.Share(i, before);
                    continue;
                }

                var record = before.Copy();
                if (!keepsMessage)
                {
                    record.Message = null;
                }

                Stamp(record, slot);
                pass.Own(i, record, before);
            }
            else
            {
                if (before?.JobName is not null && before.State != SlotState.Invalid)
                {
                    using (SlotScope(pass, slot.Sample, slot.Analysis))
                    {
                        Log.SpecChanged(_logger, before.JobId ?? "-", slot.Spec.JobName);
                    }
                }

                var record = new SlotRecord { State = SlotState.Waiting };
                Stamp(record, slot);
                pass.Own(i, record, before);
            }
        }
    }

    /// <summary>The previous record of each planned slot, by position when the slots are in the same order (the usual case).</summary>
    private static SlotRecord?[] PreviousRecords(PassState pass, WorkflowSnapshot? previous)
    {
        var result = new SlotRecord?[pass.Count];
        var slots = previous?.Slots ?? [];
        var aligned = slots.Count == pass.Count;
        for (var i = 0; aligned && i < slots.Count; i++)
        {
            aligned = slots[i].Sample == pass.Slots[i].Sample && slots[i].Analysis == pass.Slots[i].Analysis;
        }

        if (aligned)
        {
            for (var i = 0; i < slots.Count; i++)
            {
                result[i] = slots[i];
            }

            return result;
        }

        var old = new Dictionary<(string, string), SlotRecord>(slots.Count);
        foreach (var record in slots)
        {
            old.TryAdd((record.Sample, record.Analysis), record);
        }

        for (var i = 0; i < pass.Count; i++)
        {
            result[i] = old.GetValueOrDefault((pass.Slots[i].Sample, pass.Slots[i].Analysis));
        }

        return result;
    }

    /// <summary>Gives a record the plan's names and limits (the plan's own strings, so the two share one copy in memory).</summary>
    private static void Stamp(SlotRecord record, PlannedSlot slot)
    {
        record.Sample = slot.Sample;
        record.Analysis = slot.Analysis;
        if (slot.Spec is { } spec)
        {
            record.JobName = spec.JobName;
            record.MaxAttempts = spec.Retry.MaxAttempts;
            record.Memory ??= spec.MemoryMiB;
            record.Vcpus ??= spec.Vcpus;
        }
    }

    /// <summary>True when <see cref="Stamp"/> would change nothing (a record read from disk has strings of its own: it is copied once).</summary>
    private static bool IsStamped(SlotRecord record, PlannedSlot slot) =>
        ReferenceEquals(record.Sample, slot.Sample) && ReferenceEquals(record.Analysis, slot.Analysis)
        && (slot.Spec is not { } spec
            || (ReferenceEquals(record.JobName, spec.JobName) && record.MaxAttempts == spec.Retry.MaxAttempts
                && (record.Memory is not null || spec.MemoryMiB is null) && (record.Vcpus is not null || spec.Vcpus is null)));

    /// <summary>Gives the permanently failed slots a request names a fresh budget: attempts and interruptions start again.</summary>
    private void ApplyRetries(PassState pass, WorkflowSnapshot? previous, IReadOnlyList<RetryRequest> retries)
    {
        var applied = previous?.AppliedRequests ?? [];
        pass.AppliedRequests.AddRange(applied);
        foreach (var request in retries.Where(r => !applied.Contains(r.Id)))
        {
            for (var i = 0; i < pass.Count; i++)
            {
                var found = pass.Records[i];
                if (found.State != SlotState.FailedPermanently || pass.Slots[i].Spec is null || !request.Matches(found.Sample, found.Analysis))
                {
                    continue;
                }

                var record = pass.Edit(i);
                // Memory raised after out-of-memory failures is kept: starting low again would waste attempts.
                record.State = SlotState.Waiting;
                record.Attempt = 0;
                record.Interruptions = 0;
                record.FailureClass = null;
                record.NextAttemptAt = null;
                record.Message = $"retry requested at {Logging.Readable.Time(request.RequestedAt)}";
                using (SlotScope(pass, record.Sample, record.Analysis))
                {
                    Log.RetryApplied(_logger, record.LastAttempt?.JobId ?? "-", pass.Slots[i].Spec!.Retry.MaxAttempts);
                }
            }

            pass.AppliedRequests.Add(request.Id);
        }
    }
}

using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Reconciliation;

/// <summary>Steps 1–2: which outputs exist, and the slots they make complete.</summary>
public sealed partial class WorkflowReconciler
{
    /// <summary>Steps 1–2: one batched existence check for every output of every valid slot.</summary>
    private async Task CheckOutputsAsync(PassState pass, CancellationToken cancellationToken)
    {
        var locations = pass.Slots.Where(s => s.Spec is not null).SelectMany(s => s.Spec!.Outputs).ToArray();
        var existing = locations.Length == 0
            ? (IReadOnlySet<string>)new HashSet<string>()
            : await outputStore.FindExistingAsync(locations, cancellationToken);

        for (var i = 0; i < pass.Slots.Count; i++)
        {
            if (pass.Slots[i].Spec is not { } spec)
            {
                continue;
            }

            var found = pass.Records[i];
            var allExist = AllExist(spec.Outputs, existing);
            if (!OutputsRecorded(found, spec.Outputs, existing))
            {
                UpdateOutputs(pass.Edit(i), spec.Outputs, existing);
            }

            if (allExist)
            {
                pass.OutputsExist[i] = true;
                if (found.State != SlotState.Complete && HasActiveJob(found))
                {
                    // The slot's own job may still be writing them: they count once it has ended (Settle).
                    continue;
                }

                if (found.State != SlotState.Complete)
                {
                    using (SlotScope(pass, found.Sample, found.Analysis))
                    {
                        // Only a job that succeeded wrote them; without one they were found (from before, or by hand).
                        if (found.JobId is { } jobId && found.BatchStatus == SucceededWire)
                        {
                            Log.Completed(_logger, jobId);
                        }
                        else
                        {
                            Log.OutputsFound(_logger);
                        }
                    }
                }

                if (found.State != SlotState.Complete || found.Message is not null || found.NextAttemptAt is not null)
                {
                    var record = pass.Edit(i);
                    record.State = SlotState.Complete;
                    record.Message = null;
                    record.NextAttemptAt = null;
                }
            }
            else if (found.State == SlotState.Complete)
            {
                // Someone removed an output: the slot is no longer done and runs again.
                var record = pass.Edit(i);
                record.State = SlotState.Waiting;
                record.JobId = null;
            }
        }
    }

    private static readonly string SucceededWire = JobStatus.Succeeded.ToWire();

    /// <summary>The slot has a job that was last seen active (or not seen yet): its end is still to come.</summary>
    private static bool HasActiveJob(SlotRecord record) =>
        record.JobId is not null && (record.BatchStatus is not { } status || JobStatuses.Parse(status).IsActive());

    private static bool AllExist(IReadOnlyList<Planning.OutputLocation> outputs, IReadOnlySet<string> existing)
    {
        foreach (var output in outputs)
        {
            if (!existing.Contains(output.Uri))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when the record already says what <see cref="UpdateOutputs"/> would write, in the plan's own strings.</summary>
    private static bool OutputsRecorded(SlotRecord record, IReadOnlyList<Planning.OutputLocation> outputs, IReadOnlySet<string> existing)
    {
        var list = record.Outputs;
        if (list.Length != outputs.Count)
        {
            return false;
        }

        for (var k = 0; k < outputs.Count; k++)
        {
            if (!ReferenceEquals(list[k].Uri, outputs[k].Uri) || list[k].Exists != existing.Contains(outputs[k].Uri))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Records which outputs exist, in the slot's existing list when it names the same outputs (most passes change nothing).</summary>
    private static void UpdateOutputs(SlotRecord record, IReadOnlyList<Planning.OutputLocation> outputs, IReadOnlySet<string> existing)
    {
        var list = record.Outputs;
        var same = list.Length == outputs.Count;
        for (var k = 0; same && k < outputs.Count; k++)
        {
            same = list[k].Uri == outputs[k].Uri;
        }

        if (!same)
        {
            record.Outputs = list = new OutputStatus[outputs.Count];
            for (var k = 0; k < outputs.Count; k++)
            {
                list[k] = new OutputStatus { Uri = outputs[k].Uri };
            }
        }

        for (var k = 0; k < outputs.Count; k++)
        {
            // The plan's string, so that the snapshot and the plan kept between passes share one copy.
            list[k].Uri = outputs[k].Uri;
            list[k].Exists = existing.Contains(outputs[k].Uri);
        }
    }
}

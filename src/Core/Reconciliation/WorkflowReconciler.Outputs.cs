using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Reconciliation;

/// <summary>Steps 1–2: which outputs exist, and the slots they make complete.</summary>
public sealed partial class WorkflowReconciler
{
    /// <summary>
    /// Steps 1–2: one batched existence check for the outputs of every valid slot, except those whose job was last seen
    /// active. Those outputs would not count before the job has ended anyway (it may still be writing them), so they are
    /// checked once it has (<see cref="CheckOutputsOfEndedJobsAsync"/>): a steady pass, where every slot not complete has
    /// its job running or queued, then asks the store only about the outputs it trusts, and lists nothing. At the
    /// benchmark's goal size that is the 300 ListObjectsV2 pages (300,000 keys) every pass listed for the 4,500 outputs
    /// of jobs still running or pending. The cost: while a job runs, its slot does not say which of its outputs exist yet.
    /// </summary>
    private async Task CheckOutputsAsync(PassState pass, CancellationToken cancellationToken)
    {
        var checkedNow = new List<int>(pass.Count);
        for (var i = 0; i < pass.Count; i++)
        {
            if (pass.Slots[i].Spec is null)
            {
                continue;
            }

            var found = pass.Records[i];
            if (found.State != SlotState.Complete && HasActiveJob(found))
            {
                pass.OutputsDeferred[i] = true;
            }
            else
            {
                checkedNow.Add(i);
            }
        }

        var existing = await FindExistingAsync(pass, checkedNow, cancellationToken);
        var foundComplete = new List<int>();
        foreach (var i in checkedNow)
        {
            var found = pass.Records[i];
            var allExist = RecordOutputs(pass, i, existing);
            if (allExist)
            {
                pass.OutputsExist[i] = true;
                if (found.State != SlotState.Complete)
                {
                    // Only a job that succeeded wrote them; without one they were found (from before, or by hand).
                    if (found.JobId is { } jobId && found.BatchStatus == SucceededWire)
                    {
                        using (SlotScope(pass, found.Sample, found.Analysis))
                        {
                            Log.Completed(_logger, jobId);
                        }
                    }
                    else
                    {
                        foundComplete.Add(i);
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

        SayOutputsFound(pass, foundComplete);
    }

    /// <summary>
    /// Step 4's part of step 2: the outputs of the slots whose job was active at step 2 and has now ended (or is not
    /// known to the backend), checked in one batch before those jobs are settled. <see cref="Settle"/> then makes a slot
    /// whose outputs all exist complete, however its job ended.
    /// </summary>
    private async Task CheckOutputsOfEndedJobsAsync(PassState pass, IReadOnlyList<int> indexes, Dictionary<string, JobDetail> details, CancellationToken cancellationToken)
    {
        var ended = new List<int>();
        foreach (var i in indexes)
        {
            if (pass.OutputsDeferred[i]
                && !(details.TryGetValue(pass.Records[i].JobId!, out var detail) && detail.Status.IsActive()))
            {
                pass.OutputsDeferred[i] = false;
                ended.Add(i);
            }
        }

        if (ended.Count == 0)
        {
            return;
        }

        var existing = await FindExistingAsync(pass, ended, cancellationToken);
        foreach (var i in ended)
        {
            pass.OutputsExist[i] = RecordOutputs(pass, i, existing);
        }
    }

    /// <summary>Which of the outputs of these slots exist, in one batched call.</summary>
    private async Task<IReadOnlySet<string>> FindExistingAsync(PassState pass, List<int> slots, CancellationToken cancellationToken)
    {
        var locations = new List<Planning.OutputLocation>(slots.Count);
        foreach (var i in slots)
        {
            locations.AddRange(pass.Slots[i].Spec!.Outputs);
        }

        return locations.Count == 0
            ? new HashSet<string>()
            : await outputStore.FindExistingAsync(locations, cancellationToken);
    }

    /// <summary>Records in slot <paramref name="i"/> which of its outputs exist (copying the record only if that changes it); true when all do.</summary>
    private static bool RecordOutputs(PassState pass, int i, IReadOnlySet<string> existing)
    {
        var outputs = pass.Slots[i].Spec!.Outputs;
        if (!OutputsRecorded(pass.Records[i], outputs, existing))
        {
            UpdateOutputs(pass.Edit(i), outputs, existing);
        }

        return AllExist(outputs, existing);
    }

    /// <summary>Slots found complete by their outputs alone are said a line each when few, one line for all when many.</summary>
    private const int OutputsFoundOneByOne = 10;

    /// <summary>
    /// Says that these slots were found complete, no job of theirs seen writing the outputs: a line per slot (in its scope)
    /// for up to <see cref="OutputsFoundOneByOne"/>, else one line with their count. The first pass over a finished
    /// campaign finds every slot so: a line each would be 3,000,000 lines at an institute's scale, and most of a
    /// start-up's time.
    /// </summary>
    private void SayOutputsFound(PassState pass, List<int> slots)
    {
        if (slots.Count > OutputsFoundOneByOne)
        {
            Log.ManyOutputsFound(_logger, slots.Count, pass.Slots[slots[0]].Sample, pass.Slots[slots[0]].Analysis);
            return;
        }

        foreach (var i in slots)
        {
            using (SlotScope(pass, pass.Slots[i].Sample, pass.Slots[i].Analysis))
            {
                Log.OutputsFound(_logger);
            }
        }
    }

    private static readonly string SucceededWire = JobStatus.Succeeded.ToWire();

    /// <summary>The slot has a job that was last seen active (or not seen yet): its end is still to come.</summary>
    private static bool HasActiveJob(SlotRecord record) =>
        record.JobId is not null && (record.BatchStatus is not { } status || JobStatuses.Parse(status).IsActive());

    private static bool AllExist(IReadOnlyList<Planning.OutputLocation> outputs, IReadOnlySet<string> existing)
    {
        // By index: a foreach over the interface makes an enumerator, once per slot and pass.
        for (var k = 0; k < outputs.Count; k++)
        {
            if (!existing.Contains(outputs[k].Uri))
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

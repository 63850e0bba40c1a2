using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Reconciliation;

/// <summary>Adoption: jobs of a slot's name that no snapshot recorded, found by listing before anything is submitted.</summary>
public sealed partial class WorkflowReconciler
{
    /// <summary>
    /// Before anything is submitted, looks for jobs that carry a slot's name but are in no snapshot:
    /// submitted just before a crash. One listing per queue, only in passes that may submit.
    /// </summary>
    private async Task AdoptUnrecordedJobsAsync(PassState pass, WorkflowSnapshot? previous, bool previousIsComplete, CancellationToken cancellationToken)
    {
        var found = new List<int>();
        foreach (var chain in pass.Chains())
        {
            if (!AnyToSubmit(pass, chain))
            {
                continue;
            }

            for (var k = 0; k < chain.Count; k++)
            {
                var i = chain[k];
                if (pass.Slots[i].Spec is not null && pass.Records[i].JobId is null && !IsSettledForGood(pass.Records[i]))
                {
                    found.Add(i);
                }
            }
        }

        var candidates = found.ToArray();
        var unconfirmed = previous?.UnconfirmedSubmissions ?? [];
        var mustList = candidates.Length > 0
                       && (!previousIsComplete || previous is null || unconfirmed.Any(name => candidates.Any(i => pass.Records[i].JobName == name)));
        if (mustList)
        {
            // Listed: whatever was unconfirmed is settled now, adopted or known not to exist.
            await ListAndAdoptAsync(pass, candidates, cancellationToken);
        }
        else
        {
            pass.Unconfirmed.UnionWith(unconfirmed);
        }
    }

    private static bool AnyToSubmit(PassState pass, Chain chain)
    {
        for (var k = 0; k < chain.Count; k++)
        {
            if (Evaluate(pass, chain[k], chain) is Next.Submit)
            {
                return true;
            }
        }

        return false;
    }

    private async Task ListAndAdoptAsync(PassState pass, int[] candidates, CancellationToken cancellationToken)
    {
        var jobsByName = new Dictionary<string, List<JobSummary>>(StringComparer.Ordinal);
        var prefix = Planning.JobNames.WorkflowPrefix(pass.Plan.WorkflowName);
        foreach (var queue in candidates.Select(i => pass.Slots[i].Spec!.Queue).Distinct(StringComparer.Ordinal))
        {
            foreach (var job in await backend.ListByNamePrefixAsync(queue, prefix, cancellationToken))
            {
                if (!jobsByName.TryGetValue(job.JobName, out var list))
                {
                    jobsByName[job.JobName] = list = [];
                }

                list.Add(job);
            }
        }

        var adopted = new List<int>();
        var succeededUnseen = new List<int>();
        foreach (var i in candidates)
        {
            var record = pass.Records[i];
            if (!jobsByName.TryGetValue(record.JobName!, out var jobs))
            {
                continue;
            }

            // Only an active job no snapshot recorded is adopted, as the design says: a second submission beside it
            // would run the slot twice. A finished one is left alone: the slot needs submitting because its outputs
            // are missing, and an old job that succeeded (outputs deleted since) or failed says nothing about the
            // run to come; it runs again at once, without using an attempt.
            var known = record.History.Select(h => h.JobId).ToHashSet(StringComparer.Ordinal);
            var unseen = jobs.Where(j => !known.Contains(j.JobId) && j.Status.IsActive())
                .OrderByDescending(j => j.CreatedAt)
                .FirstOrDefault();
            if (unseen is null)
            {
                if (jobs.Any(j => !known.Contains(j.JobId) && j.Status == JobStatus.Succeeded))
                {
                    succeededUnseen.Add(i);
                }

                continue;
            }

            record = pass.Edit(i);
            record.JobId = unseen.JobId;
            record.Attempt = Math.Max(1, record.Attempt);
            record.SubmittedAt = unseen.CreatedAt;
            var status = unseen.Status.ToWire();
            record.AddAttempt(new AttemptRecord
            {
                JobId = unseen.JobId, Queue = pass.Slots[i].Spec!.Queue, Attempt = record.Attempt, Status = status,
                Memory = record.Memory, Vcpus = record.Vcpus, SubmittedAt = unseen.CreatedAt,
            });
            using (SlotScope(pass, record.Sample, record.Analysis))
            {
                Log.Adopted(_logger, unseen.JobId, unseen.JobName, status);
            }
            adopted.Add(i);
        }

        await RefreshJobsAsync(pass, adopted, cancellationToken);
        await RecheckOutputsAsync(pass, succeededUnseen, cancellationToken);
    }

    /// <summary>
    /// A slot with a SUCCEEDED job of its name that no snapshot knows, and outputs missing when they were checked: the
    /// job may have finished between that check and the listing (a job writes its outputs before it succeeds), or long
    /// ago with its outputs deleted since. Its outputs are checked once more, after the listing: present, the slot is
    /// complete; still missing, it runs again, without taking the old job as a failure of its own.
    /// </summary>
    private async Task RecheckOutputsAsync(PassState pass, List<int> slots, CancellationToken cancellationToken)
    {
        if (slots.Count == 0)
        {
            return;
        }

        var outputs = slots.SelectMany(i => pass.Slots[i].Spec!.Outputs).ToArray();
        var existing = await outputStore.FindExistingAsync(outputs, cancellationToken);
        var foundComplete = new List<int>();
        foreach (var i in slots)
        {
            var record = pass.Edit(i);
            UpdateOutputs(record, pass.Slots[i].Spec!.Outputs, existing);
            if (record.Outputs.All(o => o.Exists))
            {
                // A job of its name SUCCEEDED that no snapshot knew: which run wrote the outputs is not known, so none is named.
                foundComplete.Add(i);
                record.State = SlotState.Complete;
                record.Message = null;
                record.NextAttemptAt = null;
            }
        }

        SayOutputsFound(pass, foundComplete);
    }

    private static bool IsSettledForGood(SlotRecord record) =>
        record.State is SlotState.FailedPermanently or SlotState.Complete or SlotState.Invalid;
}

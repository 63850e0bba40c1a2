using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Reconciliation;

/// <summary>Steps 1–5: outputs checked, jobs described and copied in, stuck jobs flagged, finished jobs settled.</summary>
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
                if (found.State != SlotState.Complete)
                {
                    using (SlotScope(pass, found.Sample, found.Analysis))
                    {
                        Log.Completed(_logger, found.JobId ?? "-");
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
        if (list.Count != outputs.Count)
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
        var same = list.Count == outputs.Count;
        for (var k = 0; same && k < outputs.Count; k++)
        {
            same = list[k].Uri == outputs[k].Uri;
        }

        if (!same)
        {
            record.Outputs = list = new List<OutputStatus>(outputs.Count);
            foreach (var output in outputs)
            {
                list.Add(new OutputStatus { Uri = output.Uri });
            }
        }

        for (var k = 0; k < outputs.Count; k++)
        {
            // The plan's string, so that the snapshot and the plan kept between passes share one copy.
            list[k].Uri = outputs[k].Uri;
            list[k].Exists = existing.Contains(outputs[k].Uri);
        }
    }

    /// <summary>Steps 3–5: reads the state of every known job in one batched call and acts on finished ones.</summary>
    private async Task RefreshJobsAsync(PassState pass, IReadOnlyList<int> indexes, CancellationToken cancellationToken)
    {
        if (indexes.Count == 0)
        {
            return;
        }

        var ids = indexes.Select(i => pass.Records[i].JobId!).Distinct().ToArray();
        var details = (await backend.DescribeAsync(ids, cancellationToken)).ToDictionary(d => d.JobId);
        foreach (var i in indexes)
        {
            var record = pass.Edit(i);
            if (details.TryGetValue(record.JobId!, out var detail))
            {
                Apply(pass, record, detail, pass.Slots[i].Spec!.Job.Queue);
                await CheckStuckAsync(pass, record, detail, cancellationToken);
                Settle(pass, pass.Slots[i].Spec!, record, detail);
            }
            else if (record.SubmittedAt is { } submitted && pass.Now - submitted > _options.LostJobAfter)
            {
                using (SlotScope(pass, record.Sample, record.Analysis))
                {
                    Log.Lost(_logger, record.JobId!, pass.Now - submitted);
                }
                var lost = new JobDetail(record.JobId!, record.JobName!, JobStatus.Failed,
                    $"Host interrupted: the backend no longer knows job {record.JobId}", null, null, record.SubmittedAt, null, pass.Now, null, null, null);
                Apply(pass, record, lost, pass.Slots[i].Spec!.Job.Queue);
                Settle(pass, pass.Slots[i].Spec!, record, lost);
            }
        }
    }

    /// <summary>Copies what the backend says of a job into the slot and its history.</summary>
    private void Apply(PassState pass, SlotRecord record, JobDetail detail, string? queue)
    {
        var wire = detail.Status.ToWire();
        if (record.BatchStatus != wire)
        {
            using (SlotScope(pass, record.Sample, record.Analysis))
            {
                Log.StatusChanged(_logger, detail.JobId, wire);
            }
        }

        record.BatchStatus = wire;
        record.RunnableSince = detail.Status == JobStatus.Runnable ? record.RunnableSince ?? pass.Now : null;
        record.StatusReason = detail.StatusReason;
        record.ContainerReason = detail.ContainerReason;
        record.ExitCode = detail.ExitCode;
        record.LogStream = detail.LogStream ?? record.LogStream;
        record.StartedAt = detail.StartedAt;
        // A finished job without a stop time is taken to have stopped when it was first seen finished,
        // so that the grace period for its outputs does run out.
        record.StoppedAt = detail.StoppedAt ?? (detail.Status.IsActive() ? null : record.StoppedAt ?? pass.Now);
        record.SubmittedAt ??= detail.CreatedAt;
        record.State = record.State == SlotState.Complete ? SlotState.Complete : detail.Status switch
        {
            JobStatus.Running => SlotState.Running,
            JobStatus.Succeeded => SlotState.Verifying,
            JobStatus.Failed => record.State,
            _ => SlotState.Queued,
        };

        var entry = record.History.LastOrDefault(h => h.JobId == detail.JobId);
        if (entry is null)
        {
            entry = new AttemptRecord { JobId = detail.JobId, Attempt = Math.Max(1, record.Attempt), Memory = record.Memory, Vcpus = record.Vcpus, Queue = queue };
            record.History.Add(entry);
        }

        entry.Status = wire;
        entry.StatusReason = record.StatusReason;
        entry.ContainerReason = record.ContainerReason;
        entry.ExitCode = detail.ExitCode;
        entry.LogStream = record.LogStream;
        entry.SubmittedAt ??= detail.CreatedAt;
        entry.StartedAt = detail.StartedAt;
        entry.StoppedAt = detail.StoppedAt;
        entry.Memory = detail.MemoryMiB ?? entry.Memory;
        entry.Vcpus = detail.Vcpus ?? entry.Vcpus;
    }

    /// <summary>
    /// Acts once on a finished job that did not complete the slot: classifies the failure and decides
    /// between resubmission (now or after backoff) and a permanent failure. The job id is then released,
    /// so the next pass does not describe a finished job again.
    /// </summary>
    private void Settle(PassState pass, Planning.JobSpec spec, SlotRecord record, JobDetail detail)
    {
        if (record.State == SlotState.Complete)
        {
            return;
        }

        FailureClass failure;
        if (detail.Status == JobStatus.Succeeded)
        {
            var stopped = record.StoppedAt ?? pass.Now;
            if (pass.Now - stopped < _options.OutputGracePeriod)
            {
                record.State = SlotState.Verifying;
                record.Message = $"job succeeded; waiting up to {_options.OutputGracePeriod} for its outputs to appear";
                return;
            }

            failure = FailureClass.SucceededWithoutOutputs;
        }
        else if (detail.Status == JobStatus.Failed)
        {
            failure = FailureClassifier.Classify(detail);
        }
        else
        {
            return;
        }

        var entry = record.History.Last(h => h.JobId == detail.JobId);
        entry.FailureClass = failure;
        entry.Settled = true;
        record.FailureClass = failure;
        record.JobId = null;
        record.NextAttemptAt = null;

        var reason = Describe(detail, failure);
        var decided = FailurePolicy.Decide(
            failure, reason, new SlotBudget(record.Attempt, record.Interruptions, record.Memory), detail.MemoryMiB, spec.Retry, pass.Now);
        record.State = decided.State;
        record.Attempt = decided.Attempt;
        record.Interruptions = decided.Interruptions;
        record.Memory = decided.Memory;
        record.NextAttemptAt = decided.NextAttemptAt;
        record.Message = decided.Message ?? record.Message;
        using var scope = SlotScope(pass, record.Sample, record.Analysis);
        if (record.State == SlotState.FailedPermanently)
        {
            Log.FailedPermanently(_logger, detail.JobId, record.Message!);
        }
        else
        {
            Log.JobFailed(_logger, detail.JobId, Wire(failure), reason, decided.LogDecision);
        }
    }

    private static string FailPermanently(SlotRecord record, string message)
    {
        record.State = SlotState.FailedPermanently;
        record.Message = message;
        return "Not resubmitted.";
    }

    private static string Describe(JobDetail detail, FailureClass failure)
    {
        if (failure == FailureClass.SucceededWithoutOutputs)
        {
            return "the job succeeded but its outputs are missing";
        }

        var parts = new[] { detail.StatusReason, detail.ContainerReason, detail.ExitCode is { } code ? $"exit code {code}" : null };
        var text = string.Join("; ", parts.Where(p => !string.IsNullOrWhiteSpace(p)).Distinct());
        return text.Length == 0 ? "no reason given" : text;
    }

    internal static string Wire(FailureClass failure) => failure.ToWire();
}

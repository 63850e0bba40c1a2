using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Reconciliation;

/// <summary>Steps 3–5: jobs described and copied in, stuck jobs flagged, finished jobs settled.</summary>
public sealed partial class WorkflowReconciler
{
    /// <summary>Steps 3–5: reads the state of every known job in one batched call and acts on finished ones.</summary>
    private async Task RefreshJobsAsync(PassState pass, IReadOnlyList<int> indexes, CancellationToken cancellationToken)
    {
        if (indexes.Count == 0)
        {
            return;
        }

        var ids = indexes.Select(i => pass.Records[i].JobId!).Distinct().ToArray();
        var details = (await backend.DescribeAsync(ids, cancellationToken)).ToDictionary(d => d.JobId);
        await CheckOutputsOfEndedJobsAsync(pass, indexes, details, cancellationToken);
        foreach (var i in indexes)
        {
            var record = pass.Edit(i);
            if (details.TryGetValue(record.JobId!, out var detail))
            {
                var changed = Apply(pass, record, detail, pass.Slots[i].Spec!.Queue);
                await CheckStuckAsync(pass, record, detail, cancellationToken);
                Settle(pass, i, record, detail, changed);
            }
            else if (record.SubmittedAt is { } submitted && pass.Now - submitted > _options.LostJobAfter)
            {
                using (SlotScope(pass, record.Sample, record.Analysis))
                {
                    Log.Lost(_logger, record.JobId!, Logging.Readable.Duration(pass.Now - submitted));
                }
                var lost = new JobDetail(record.JobId!, record.JobName!, JobStatus.Failed,
                    $"Host interrupted: the backend no longer knows job {record.JobId}", null, null, record.SubmittedAt, null, pass.Now, null, null, null);
                Apply(pass, record, lost, pass.Slots[i].Spec!.Queue);
                Settle(pass, i, record, lost, statusChanged: true);
            }
        }
    }

    /// <summary>Copies what the backend says of a job into the slot and its history; true when its status changed.</summary>
    private bool Apply(PassState pass, SlotRecord record, JobDetail detail, string? queue)
    {
        var wire = detail.Status.ToWire();
        var changed = record.BatchStatus != wire;

        // A job's end is said by the line that settles the slot (complete, verifying, failed), and nothing of a job is
        // said once its slot is complete: what it does then no longer matters for the slot.
        if (changed && record.State != SlotState.Complete && detail.Status.IsActive())
        {
            using (SlotScope(pass, record.Sample, record.Analysis))
            {
                if (detail.Status == JobStatus.Running)
                {
                    Log.StatusChanged(_logger, detail.JobId, wire, detail.LogStream is { } log ? $" (log {log})" : "");
                }
                else
                {
                    Log.QueuedStatusChanged(_logger, detail.JobId, wire);
                }
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
            record.AddAttempt(entry);
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
        return changed;
    }

    /// <summary>
    /// Acts once on a finished job that did not complete the slot: classifies the failure and decides
    /// between resubmission (now or after backoff) and a permanent failure. The job id is then released,
    /// so the next pass does not describe a finished job again. A slot whose outputs all exist is complete once its
    /// job has ended, however it ended (the design's step 2), and the line says which.
    /// </summary>
    private void Settle(PassState pass, int i, SlotRecord record, JobDetail detail, bool statusChanged)
    {
        if (record.State == SlotState.Complete)
        {
            return;
        }

        if (pass.OutputsExist[i])
        {
            CompleteOnceEnded(pass, record, detail);
            return;
        }

        var spec = pass.Slots[i].Spec!;
        FailureClass failure;
        if (detail.Status == JobStatus.Succeeded)
        {
            var stopped = record.StoppedAt ?? pass.Now;
            if (pass.Now - stopped < _options.OutputGracePeriod)
            {
                record.State = SlotState.Verifying;
                record.Message = $"job succeeded; waiting up to {_options.OutputGracePeriod} for its outputs to appear";
                if (statusChanged)
                {
                    using var verifying = SlotScope(pass, record.Sample, record.Analysis);
                    Log.Verifying(_logger, detail.JobId, Logging.Readable.Duration(_options.OutputGracePeriod));
                }

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
        else if (failure == FailureClass.Blocked)
        {
            // The job before it failed, and said so: this one never ran, and runs again when that one does.
            Log.DependencyFailed(_logger, detail.JobId, decided.LogDecision);
        }
        else if (failure == FailureClass.Cancelled)
        {
            // Terminated at the workflow's own request, which was said when it was terminated.
            Log.CancelledJobEnded(_logger, detail.JobId);
        }
        else
        {
            Log.JobFailed(_logger, detail.JobId, Wire(failure), reason, decided.LogDecision);
        }
    }

    /// <summary>
    /// Every output of the slot exists and its job has ended (their check waits for that, see
    /// <see cref="CheckOutputsOfEndedJobsAsync"/>): the slot is complete, crediting the job only if it succeeded. The
    /// branch for a job still active is a guard: outputs of an active job are no longer checked, so it is not reached.
    /// </summary>
    private void CompleteOnceEnded(PassState pass, SlotRecord record, JobDetail detail)
    {
        if (detail.Status.IsActive())
        {
            record.Message = $"every output exists; the slot is complete once job {detail.JobId} has ended";
            return;
        }

        using var scope = SlotScope(pass, record.Sample, record.Analysis);
        if (detail.Status == JobStatus.Succeeded)
        {
            Log.Completed(_logger, detail.JobId);
        }
        else
        {
            var failure = FailureClassifier.Classify(detail);
            var entry = record.History.Last(h => h.JobId == detail.JobId);
            entry.FailureClass = failure;
            entry.Settled = true;
            Log.CompletedAlthoughFailed(_logger, detail.JobId, Describe(detail, failure));
        }

        record.State = SlotState.Complete;
        record.Message = null;
        record.NextAttemptAt = null;
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

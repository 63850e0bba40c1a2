using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Reconciliation;

/// <summary>The chain walk: what each slot needs given the one before it, and the submissions and cancellation that follow.</summary>
public sealed partial class WorkflowReconciler
{
    private enum Next
    {
        Nothing,
        Submit,
    }

    /// <summary>Decides what one slot needs, given the slot before it in its chain. Sets the slot's state when it waits.</summary>
    private static Next Evaluate(PassState pass, int i, Chain chain)
    {
        var record = pass.Records[i];
        if (pass.Slots[i].Spec is null || record.State is SlotState.Complete or SlotState.FailedPermanently)
        {
            return Next.Nothing;
        }

        if (record.JobId is not null)
        {
            return Next.Nothing;
        }

        if (record.State == SlotState.Retrying && record.NextAttemptAt > pass.Now)
        {
            return Next.Nothing;
        }

        var position = chain.PositionOf(i);
        if (position == 0)
        {
            return Next.Submit;
        }

        var upstream = pass.Records[chain[position - 1]];
        switch (upstream.State)
        {
            case SlotState.Complete:
                return Next.Submit;
            case SlotState.Queued or SlotState.Running when upstream.JobId is not null:
                return Next.Submit;
            case SlotState.FailedPermanently or SlotState.Blocked or SlotState.Invalid or SlotState.Cancelled:
                SetWaiting(pass, i, SlotState.Blocked, $"blocked: analysis '{upstream.Analysis}' is {Wire(upstream.State)}");
                return Next.Nothing;
            default:
                if (record.State != SlotState.Retrying)
                {
                    SetWaiting(pass, i, SlotState.Waiting, $"waiting for analysis '{upstream.Analysis}' ({Wire(upstream.State)})");
                }

                return Next.Nothing;
        }
    }

    /// <summary>Sets a waiting slot's state and reason, copying its record only when they change (most passes they do not).</summary>
    private static void SetWaiting(PassState pass, int i, SlotState state, string message)
    {
        if (pass.Records[i].State == state && pass.Records[i].Message == message)
        {
            return;
        }

        var record = pass.Edit(i);
        record.State = state;
        record.Message = message;
    }

    private static string Wire(SlotState state) => state switch
    {
        SlotState.FailedPermanently => "failed permanently",
        _ => state.ToString().ToLowerInvariant(),
    };

    /// <summary>Step 6: walks one sample's chain in order, submitting what is due with <c>dependsOn</c> on the slot before.</summary>
    private async Task AdvanceChainAsync(PassState pass, Chain chain, CancellationToken cancellationToken)
    {
        for (var k = 0; k < chain.Count; k++)
        {
            var i = chain[k];
            if (Evaluate(pass, i, chain) != Next.Submit || pass.SubmissionsHalted)
            {
                continue;
            }

            var upstream = k > 0 ? pass.Records[chain[k - 1]] : null;
            var dependsOn = upstream is { State: not SlotState.Complete, JobId: { } upstreamJob } ? new[] { upstreamJob } : [];
            await SubmitAsync(pass, pass.Slots[i].Spec!, pass.Edit(i), dependsOn, cancellationToken);
        }
    }

    private async Task SubmitAsync(PassState pass, JobSpec spec, SlotRecord record, string[] dependsOn, CancellationToken cancellationToken)
    {
        var attempt = Math.Max(1, record.Attempt);
        var job = spec.Job.Finalize(attempt);
        var environment = new Dictionary<string, string>(job.Environment, StringComparer.Ordinal)
        {
            [WorkflowPlanner.OutputsVariable] = string.Join('\n', spec.Outputs.Select(o => o.Uri)),
        };
        var submission = new JobSubmission(
            spec.JobName,
            job with { Environment = environment, Vcpus = record.Vcpus, MemoryMiB = record.Memory },
            dependsOn,
            pass.Plan.Location.ProjectDirectory,
            new JobContext(pass.Project, pass.Workflow, record.Sample, record.Analysis,
                Path.Combine(pass.Plan.Location.ProjectDirectory, pass.Plan.Location.FileName)));

        // The backend's own lines (retries of SubmitJob) and this method's name the slot.
        using var scope = SlotScope(pass, record.Sample, record.Analysis);
        string jobId;
        try
        {
            jobId = await backend.SubmitAsync(submission, cancellationToken);
        }
        catch (JobRejectedException e)
        {
            record.FailureClass = FailureClass.Misconfigured;
            record.StatusReason = e.Message;
            record.ContainerReason = null;
            FailPermanently(record, $"misconfigured: the backend rejected the submission (fix it, then edit the workflow or run 'batchkeeper retry'): {e.Message}");
            Log.Rejected(_logger, spec.JobName, e.Message);
            return;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The backend is unwell: stop submitting in this pass rather than fail the same way thousands of times.
            // A submission that did reach the backend is adopted by name in the next pass.
            pass.HaltSubmissions($"submitting {spec.JobName} failed: {e.Message}");
            pass.AddUnconfirmed(spec.JobName);
            record.Message = $"submission failed, will try again next pass: {e.Message}";
            Log.SubmitError(_logger, spec.JobName, e.Message);
            return;
        }

        record.JobId = jobId;
        record.Attempt = attempt;
        record.State = SlotState.Queued;
        record.BatchStatus = JobStatus.Submitted.ToWire();
        record.SubmittedAt = pass.Now;
        record.StartedAt = null;
        record.StoppedAt = null;
        record.ExitCode = null;
        record.StatusReason = null;
        record.ContainerReason = null;
        record.NextAttemptAt = null;
        record.Message = dependsOn.Length > 0 ? $"depends on job {dependsOn[0]}" : null;
        record.AddAttempt(new AttemptRecord
        {
            JobId = jobId, Queue = spec.Queue, Attempt = attempt, Status = record.BatchStatus, Memory = record.Memory, Vcpus = record.Vcpus, SubmittedAt = pass.Now,
        });
        pass.CountSubmission();
        var after = dependsOn.Length > 0 ? $", after job {dependsOn[0]}" : "";
        Log.Submitted(_logger, jobId, spec.JobName, attempt, after);
    }

    /// <summary><c>cancel: true</c>: terminates every active job and submits nothing.</summary>
    private async Task CancelAsync(PassState pass, CancellationToken cancellationToken)
    {
        var reason = $"{FailureClassifier.CancelledReasonPrefix}: cancel is true in {pass.Plan.Location.FileName}";
        var message = $"cancelled: cancel is true in {pass.Plan.Location.FileName}";
        for (var i = 0; i < pass.Count; i++)
        {
            var found = pass.Records[i];
            if (found.State is SlotState.Complete or SlotState.Invalid || (found.State == SlotState.Cancelled && found.Message == message))
            {
                continue;
            }

            var record = pass.Edit(i);
            if (record.JobId is { } jobId && record.State is SlotState.Queued or SlotState.Running)
            {
                using var scope = SlotScope(pass, record.Sample, record.Analysis, jobId);
                await backend.TerminateAsync(jobId, reason, cancellationToken);
                Log.Terminated(_logger, jobId);
            }

            record.State = SlotState.Cancelled;
            record.Message = message;
        }
    }
}

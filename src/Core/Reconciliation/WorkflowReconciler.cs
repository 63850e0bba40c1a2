using System.Collections.Concurrent;
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
public sealed class WorkflowReconciler(
    IJobBackend backend,
    IOutputStore outputStore,
    TimeProvider clock,
    ReconcilerOptions? options = null,
    ILogger<WorkflowReconciler>? logger = null)
{
    private readonly ReconcilerOptions _options = options ?? new ReconcilerOptions();
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    /// <summary>The backend's name, for snapshots.</summary>
    public string BackendName => backend.Name;

    /// <summary>Reconciles <paramref name="plan"/> once and returns the snapshot to write.</summary>
    /// <param name="retries">Retry requests not yet consumed; those already applied (by id) are skipped.</param>
    /// <param name="stopSubmitting">
    /// Once cancelled (the daemon is stopping), the pass submits nothing more but still finishes and returns its
    /// snapshot, so that what it did submit is recorded.
    /// </param>
    /// <param name="previousIsComplete">
    /// True when <paramref name="previous"/> is what the last pass of this process returned, having run to its end:
    /// it then knows every job submitted for the workflow, and a pass looks for jobs by name only for submissions left
    /// unconfirmed. False (the default) for a snapshot read from disk, at start-up or after a failed pass: the daemon
    /// may have died between a SubmitJob and the snapshot, so a pass that would submit lists the workflow's jobs first.
    /// </param>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1068", Justification = "stopSubmitting is a signal, not the pass's cancellation; the existing (plan, previous, token) calls stay as they are.")]
    public async Task<WorkflowSnapshot> ReconcileAsync(
        WorkflowPlan plan, WorkflowSnapshot? previous, CancellationToken cancellationToken,
        IReadOnlyList<RetryRequest>? retries = null, CancellationToken stopSubmitting = default, bool previousIsComplete = false)
    {
        var pass = new Pass(plan, clock.GetUtcNow(), stopSubmitting) { PreviousReconciledAt = previous?.ReconciledAt };
        CarryOver(pass, previous);
        ApplyRetries(pass, previous, retries ?? []);
        await CheckOutputsAsync(pass, cancellationToken);
        await RefreshJobsAsync(pass, pass.WithActiveJob(), cancellationToken);

        if (plan.Cancel)
        {
            await CancelAsync(pass, cancellationToken);
        }
        else
        {
            await AdoptUnrecordedJobsAsync(pass, previous, previousIsComplete, cancellationToken);
            await Parallel.ForEachAsync(
                pass.Chains(),
                new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _options.SubmitParallelism), CancellationToken = cancellationToken },
                async (chain, ct) => await AdvanceChainAsync(pass, chain, ct));
        }

        return BuildSnapshot(pass, previous);
    }

    /// <summary>Step 0: each slot starts from its previous record, unless its spec (and so its job name) changed.</summary>
    private void CarryOver(Pass pass, WorkflowSnapshot? previous)
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
                record = before ?? new SlotRecord();
                record.State = SlotState.Invalid;
                record.Message = slot.Error;
            }
            else if (before is not null && before.JobName == slot.Spec.JobName)
            {
                record = before;
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
    private void ApplyRetries(Pass pass, WorkflowSnapshot? previous, IReadOnlyList<RetryRequest> retries)
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

    /// <summary>Steps 1–2: one batched existence check for every output of every valid slot.</summary>
    private async Task CheckOutputsAsync(Pass pass, CancellationToken cancellationToken)
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

            var record = pass.Records[i];
            UpdateOutputs(record, spec.Outputs, existing);
            if (record.Outputs.All(o => o.Exists))
            {
                if (record.State != SlotState.Complete)
                {
                    Log.Completed(_logger, pass.Project, pass.Workflow, record.Sample, record.Analysis, record.JobId ?? "-");
                }

                record.State = SlotState.Complete;
                record.Message = null;
                record.NextAttemptAt = null;
            }
            else if (record.State == SlotState.Complete)
            {
                // Someone removed an output: the slot is no longer done and runs again.
                record.State = SlotState.Waiting;
                record.JobId = null;
            }
        }
    }

    /// <summary>Records which outputs exist, in the slot's existing list when it names the same outputs (most passes change nothing).</summary>
    private static void UpdateOutputs(SlotRecord record, IReadOnlyList<OutputLocation> outputs, IReadOnlySet<string> existing)
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
    private async Task RefreshJobsAsync(Pass pass, IReadOnlyList<int> indexes, CancellationToken cancellationToken)
    {
        if (indexes.Count == 0)
        {
            return;
        }

        var ids = indexes.Select(i => pass.Records[i].JobId!).Distinct().ToArray();
        var details = (await backend.DescribeAsync(ids, cancellationToken)).ToDictionary(d => d.JobId);
        foreach (var i in indexes)
        {
            var record = pass.Records[i];
            if (details.TryGetValue(record.JobId!, out var detail))
            {
                Apply(pass, record, detail);
                await CheckStuckAsync(pass, record, detail, cancellationToken);
                Settle(pass, pass.Slots[i].Spec!, record, detail);
            }
            else if (record.SubmittedAt is { } submitted && pass.Now - submitted > _options.LostJobAfter)
            {
                Log.Lost(_logger, record.JobId!, pass.Project, pass.Workflow, record.Sample, record.Analysis, pass.Now - submitted);
                var lost = new JobDetail(record.JobId!, record.JobName!, JobStatus.Failed,
                    $"Host interrupted: the backend no longer knows job {record.JobId}", null, null, record.SubmittedAt, null, pass.Now, null, null, null);
                Apply(pass, record, lost);
                Settle(pass, pass.Slots[i].Spec!, record, lost);
            }
        }
    }

    /// <summary>
    /// A job that waits RUNNABLE with a MISCONFIGURATION or CAPACITY reason may never start (no compute environment
    /// can run it). After <see cref="ReconcilerOptions.StuckRunnableAfter"/> it is flagged, and terminated if configured.
    /// </summary>
    private async Task CheckStuckAsync(Pass pass, SlotRecord record, JobDetail detail, CancellationToken cancellationToken)
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
        record.Stuck = true;
        record.Message = $"stuck RUNNABLE for {waited}: {reason}";
        if (_options.TerminateStuckJobs)
        {
            await backend.TerminateAsync(detail.JobId, $"{FailureClassifier.StuckReasonPrefix} after {waited}: {reason}", cancellationToken);
            record.Message += "; terminated, it will be reported as misconfigured";
        }

        Log.Stuck(_logger, detail.JobId, pass.Project, pass.Workflow, record.Sample, record.Analysis, waited, reason,
            _options.TerminateStuckJobs ? "; terminated." : ".");
    }

    /// <summary>Copies what the backend says of a job into the slot and its history.</summary>
    private void Apply(Pass pass, SlotRecord record, JobDetail detail)
    {
        var wire = detail.Status.ToWire();
        if (record.BatchStatus != wire)
        {
            Log.StatusChanged(_logger, detail.JobId, pass.Project, pass.Workflow, record.Sample, record.Analysis, wire);
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
            entry = new AttemptRecord { JobId = detail.JobId, Attempt = Math.Max(1, record.Attempt), Memory = record.Memory, Vcpus = record.Vcpus };
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
    private void Settle(Pass pass, JobSpec spec, SlotRecord record, JobDetail detail)
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
        string decision;
        var limits = spec.Retry;
        switch (failure)
        {
            case FailureClass.Blocked:
                record.State = SlotState.Waiting;
                decision = "It is resubmitted once the analysis before it is running again.";
                break;
            case FailureClass.Cancelled:
                record.State = SlotState.Cancelled;
                decision = "It was cancelled.";
                break;
            case FailureClass.Interrupted when record.Interruptions < limits.MaxInterruptions:
                record.Interruptions++;
                record.State = SlotState.Retrying;
                record.NextAttemptAt = pass.Now;
                decision = $"Resubmitting without using an attempt (interruption {record.Interruptions} of {limits.MaxInterruptions}).";
                break;
            case FailureClass.Interrupted:
                decision = FailPermanently(record, $"interrupted {record.Interruptions + 1} times, more than the cap of {limits.MaxInterruptions}: {reason}");
                break;
            case FailureClass.Misconfigured:
                decision = FailPermanently(record, $"misconfigured, not retried (fix the job definition, queue or image, then edit the workflow or run 'batchkeeper retry'): {reason}");
                break;
            case FailureClass.OutOfMemory when record.Attempt >= limits.MaxAttempts:
                decision = FailPermanently(record, $"out of memory on all {limits.MaxAttempts} attempts: {reason}");
                break;
            case FailureClass.OutOfMemory:
                var current = detail.MemoryMiB ?? record.Memory;
                if (current is { } memory)
                {
                    if (limits.MaxMemoryMiB is { } ceiling && memory >= ceiling)
                    {
                        decision = FailPermanently(record, $"out of memory at max_memory ({ceiling} MiB): {reason}");
                        break;
                    }

                    var next = (int)Math.Ceiling(memory * limits.MemoryFactor);
                    record.Memory = limits.MaxMemoryMiB is { } max ? Math.Min(next, max) : next;
                }

                record.Attempt = Math.Max(1, record.Attempt) + 1;
                record.State = SlotState.Retrying;
                record.NextAttemptAt = pass.Now;
                decision = record.Memory is { } raised
                    ? $"Resubmitting with {raised} MiB, attempt {record.Attempt} of {limits.MaxAttempts}."
                    : $"Resubmitting (its memory is unknown, so it cannot be raised), attempt {record.Attempt} of {limits.MaxAttempts}.";
                break;
            default:
                // timed_out is an ordinary failure too (memory unchanged), named as a timeout.
                var what = failure == FailureClass.TimedOut ? "timed out" : "failed";
                if (record.Attempt >= limits.MaxAttempts)
                {
                    decision = FailPermanently(record, $"{what} on all {limits.MaxAttempts} attempts; last: {reason}");
                    break;
                }

                var backoff = limits.Backoff * Math.Pow(2, Math.Max(0, record.Attempt - 1));
                record.Attempt = Math.Max(1, record.Attempt) + 1;
                record.State = SlotState.Retrying;
                record.NextAttemptAt = pass.Now + backoff;
                decision = failure == FailureClass.TimedOut
                    ? $"Timed out: resubmitting with the same memory at {record.NextAttemptAt:O}, attempt {record.Attempt} of {limits.MaxAttempts}."
                    : $"Resubmitting at {record.NextAttemptAt:O}, attempt {record.Attempt} of {limits.MaxAttempts}.";
                break;
        }

        if (record.State == SlotState.FailedPermanently)
        {
            Log.FailedPermanently(_logger, pass.Project, pass.Workflow, record.Sample, record.Analysis, detail.JobId, record.Message!);
        }
        else
        {
            Log.JobFailed(_logger, detail.JobId, pass.Project, pass.Workflow, record.Sample, record.Analysis, Wire(failure), reason, decision);
            if (record.State == SlotState.Retrying)
            {
                record.Message = decision;
            }
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

    internal static string Wire(FailureClass failure) => failure switch
    {
        FailureClass.OutOfMemory => "out_of_memory",
        FailureClass.TimedOut => "timed_out",
        FailureClass.SucceededWithoutOutputs => "succeeded_without_outputs",
        _ => failure.ToString().ToLowerInvariant(),
    };

    /// <summary>
    /// Before anything is submitted, looks for jobs that carry a slot's name but are in no snapshot:
    /// submitted just before a crash. One listing per queue, only in passes that may submit.
    /// </summary>
    private async Task AdoptUnrecordedJobsAsync(Pass pass, WorkflowSnapshot? previous, bool previousIsComplete, CancellationToken cancellationToken)
    {
        var candidates = pass.Chains()
            .Where(chain => chain.Any(i => Evaluate(pass, i, chain) is Next.Submit))
            .SelectMany(chain => chain)
            .Where(i => pass.Slots[i].Spec is not null && pass.Records[i].JobId is null && !IsSettledForGood(pass.Records[i]))
            .ToArray();
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

    private async Task ListAndAdoptAsync(Pass pass, int[] candidates, CancellationToken cancellationToken)
    {
        var jobsByName = new Dictionary<string, List<JobSummary>>(StringComparer.Ordinal);
        var prefix = JobNames.WorkflowPrefix(pass.Plan.WorkflowName);
        foreach (var queue in candidates.Select(i => pass.Slots[i].Spec!.Job.Queue).Distinct(StringComparer.Ordinal))
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

            record.JobId = unseen.JobId;
            record.Attempt = Math.Max(1, record.Attempt);
            record.SubmittedAt = unseen.CreatedAt;
            var status = unseen.Status.ToWire();
            record.History.Add(new AttemptRecord
            {
                JobId = unseen.JobId, Attempt = record.Attempt, Status = status,
                Memory = record.Memory, Vcpus = record.Vcpus, SubmittedAt = unseen.CreatedAt,
            });
            Log.Adopted(_logger, unseen.JobId, unseen.JobName, status, pass.Project, pass.Workflow, record.Sample, record.Analysis);
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
    private async Task RecheckOutputsAsync(Pass pass, List<int> slots, CancellationToken cancellationToken)
    {
        if (slots.Count == 0)
        {
            return;
        }

        var outputs = slots.SelectMany(i => pass.Slots[i].Spec!.Outputs).ToArray();
        var existing = await outputStore.FindExistingAsync(outputs, cancellationToken);
        foreach (var i in slots)
        {
            var record = pass.Records[i];
            UpdateOutputs(record, pass.Slots[i].Spec!.Outputs, existing);
            if (record.Outputs.All(o => o.Exists))
            {
                Log.Completed(_logger, pass.Project, pass.Workflow, record.Sample, record.Analysis, "-");
                record.State = SlotState.Complete;
                record.Message = null;
                record.NextAttemptAt = null;
            }
        }
    }

    private static bool IsSettledForGood(SlotRecord record) =>
        record.State is SlotState.FailedPermanently or SlotState.Complete or SlotState.Invalid;

    private enum Next
    {
        Nothing,
        Submit,
    }

    /// <summary>Decides what one slot needs, given the slot before it in its chain. Sets the slot's state when it waits.</summary>
    private static Next Evaluate(Pass pass, int i, IReadOnlyList<int> chain)
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

        var position = IndexOf(chain, i);
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
                record.State = SlotState.Blocked;
                record.Message = $"blocked: analysis '{upstream.Analysis}' is {Wire(upstream.State)}";
                return Next.Nothing;
            default:
                if (record.State != SlotState.Retrying)
                {
                    record.State = SlotState.Waiting;
                    record.Message = $"waiting for analysis '{upstream.Analysis}' ({Wire(upstream.State)})";
                }

                return Next.Nothing;
        }
    }

    private static int IndexOf(IReadOnlyList<int> chain, int i)
    {
        for (var k = 0; k < chain.Count; k++)
        {
            if (chain[k] == i)
            {
                return k;
            }
        }

        throw new InvalidOperationException("slot not in its chain");
    }

    private static string Wire(SlotState state) => state switch
    {
        SlotState.FailedPermanently => "failed permanently",
        _ => state.ToString().ToLowerInvariant(),
    };

    /// <summary>Step 6: walks one sample's chain in order, submitting what is due with <c>dependsOn</c> on the slot before.</summary>
    private async Task AdvanceChainAsync(Pass pass, IReadOnlyList<int> chain, CancellationToken cancellationToken)
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
            await SubmitAsync(pass, pass.Slots[i].Spec!, pass.Records[i], dependsOn, cancellationToken);
        }
    }

    private async Task SubmitAsync(Pass pass, JobSpec spec, SlotRecord record, string[] dependsOn, CancellationToken cancellationToken)
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
            Log.Rejected(_logger, pass.Project, pass.Workflow, record.Sample, record.Analysis, spec.JobName, e.Message);
            return;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The backend is unwell: stop submitting in this pass rather than fail the same way thousands of times.
            // A submission that did reach the backend is adopted by name in the next pass.
            pass.HaltSubmissions($"submitting {spec.JobName} failed: {e.Message}");
            pass.AddUnconfirmed(spec.JobName);
            record.Message = $"submission failed, will try again next pass: {e.Message}";
            Log.SubmitError(_logger, pass.Project, pass.Workflow, record.Sample, record.Analysis, spec.JobName, e.Message);
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
        record.History.Add(new AttemptRecord
        {
            JobId = jobId, Attempt = attempt, Status = record.BatchStatus, Memory = record.Memory, Vcpus = record.Vcpus, SubmittedAt = pass.Now,
        });
        pass.CountSubmission();
        var after = dependsOn.Length > 0 ? $", after job {dependsOn[0]}" : "";
        Log.Submitted(_logger, jobId, spec.JobName, pass.Project, pass.Workflow, record.Sample, record.Analysis, attempt, after);
    }

    /// <summary><c>cancel: true</c>: terminates every active job and submits nothing.</summary>
    private async Task CancelAsync(Pass pass, CancellationToken cancellationToken)
    {
        var reason = $"{FailureClassifier.CancelledReasonPrefix}: cancel is true in {pass.Plan.Location.FileName}";
        for (var i = 0; i < pass.Records.Length; i++)
        {
            var record = pass.Records[i];
            if (record.State is SlotState.Complete or SlotState.Invalid)
            {
                continue;
            }

            if (record.JobId is { } jobId && record.State is SlotState.Queued or SlotState.Running)
            {
                await backend.TerminateAsync(jobId, reason, cancellationToken);
                Log.Terminated(_logger, jobId, pass.Project, pass.Workflow, record.Sample, record.Analysis);
            }

            record.State = SlotState.Cancelled;
            record.Message = $"cancelled: cancel is true in {pass.Plan.Location.FileName}";
        }
    }

    private WorkflowSnapshot BuildSnapshot(Pass pass, WorkflowSnapshot? previous)
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
            Errors = pass.Errors.Select(e => new SnapshotError(pass.Now, e)).ToList(),
            AppliedRequests = pass.AppliedRequests.TakeLast(100).ToList(),
            UnconfirmedSubmissions = [.. pass.Unconfirmed.Order(StringComparer.Ordinal)],
            DefinitionSha256 = previous?.DefinitionSha256,
        };
        snapshot.Summary = SnapshotSummary.Of(snapshot.Slots);
        Log.PassDone(_logger, pass.Project, pass.Workflow, snapshot.Summary.Complete, snapshot.Summary.Total,
            snapshot.Summary.Running, snapshot.Summary.Queued, snapshot.Summary.Failed, pass.Submitted);
        return snapshot;
    }

    /// <summary>The working state of one pass.</summary>
    private sealed class Pass(WorkflowPlan plan, DateTimeOffset now, CancellationToken stopSubmitting)
    {
        private readonly ConcurrentQueue<string> _errors = new();
        private int _submitted;
        private volatile bool _halted;

        public WorkflowPlan Plan { get; } = plan;
        public DateTimeOffset Now { get; } = now;

        /// <summary>When the snapshot this pass starts from was reconciled; null when there is none.</summary>
        public DateTimeOffset? PreviousReconciledAt { get; init; }
        public IReadOnlyList<PlannedSlot> Slots => Plan.Slots;
        public SlotRecord[] Records { get; } = new SlotRecord[plan.Slots.Count];
        public List<string> AppliedRequests { get; } = [];

        /// <summary>Job names whose submission may or may not have happened; guarded, since chains submit in parallel.</summary>
        public HashSet<string> Unconfirmed { get; } = new(StringComparer.Ordinal);

        public void AddUnconfirmed(string jobName)
        {
            lock (Unconfirmed)
            {
                Unconfirmed.Add(jobName);
            }
        }

        public string Project => Plan.Location.Project;
        public string Workflow => Plan.WorkflowName;
        public bool SubmissionsHalted => _halted || stopSubmitting.IsCancellationRequested;
        public int Submitted => _submitted;
        public IEnumerable<string> Errors => _errors;

        public void HaltSubmissions(string error)
        {
            _halted = true;
            _errors.Enqueue(error);
        }

        public void CountSubmission() => Interlocked.Increment(ref _submitted);

        /// <summary>
        /// Slots whose job is worth describing: every one not complete, and, once, a slot that completed while its
        /// job was last seen active, so that its final status, times and log stream are recorded.
        /// </summary>
        public int[] WithActiveJob() =>
            Enumerable.Range(0, Records.Length)
                .Where(i => Slots[i].Spec is not null && Records[i].JobId is not null
                            && (Records[i].State != SlotState.Complete || Records[i].BatchStatus is null || JobStatuses.Parse(Records[i].BatchStatus!).IsActive()))
                .ToArray();

        public IEnumerable<IReadOnlyList<int>> Chains()
        {
            var width = Plan.Analyses.Count;
            for (var start = 0; start < Records.Length; start += width)
            {
                yield return Enumerable.Range(start, width).ToArray();
            }
        }
    }
}

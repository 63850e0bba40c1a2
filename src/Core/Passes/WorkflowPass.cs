using Batchkeeper.Core.Logging;
using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Reconciliation;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Core.Workflows;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Batchkeeper.Core.Passes;

/// <summary>What a pass asks of its scheduler afterwards.</summary>
public enum PassOutcome
{
    Done,

    /// <summary>The file looked half-written: read it again shortly rather than report it.</summary>
    ReadAgainSoon,

    /// <summary>The file is gone.</summary>
    Gone,
}

/// <summary>
/// What one pass did: its outcome and, when it is <see cref="PassOutcome.Done"/>, its snapshot (with this pass's times,
/// whether or not it had to be written) and what changed.
/// </summary>
public sealed record PassReport(PassOutcome Outcome, WorkflowSnapshot? Snapshot, IReadOnlyList<SlotTransition> Transitions)
{
    /// <summary>
    /// Reconciling threw (the backend unavailable, its calls cut short by the daemon's stop): the snapshot keeps the
    /// states last seen and says why in its errors. A definition with errors is not this: that is the workflow's problem.
    /// </summary>
    public bool ReconcileFailed { get; init; }

    /// <summary>The snapshot could not be written (a read-only folder, a full disk): the daemon carries on with its memory.</summary>
    public bool SnapshotNotWritten { get; init; }

    public static PassReport ReadAgainSoon { get; } = new(PassOutcome.ReadAgainSoon, null, []);

    public static PassReport Gone { get; } = new(PassOutcome.Gone, null, []);
}

/// <summary>The daemon's stop as a pass sees it.</summary>
/// <param name="Stopping">The daemon is stopping: the pass submits nothing more, but finishes and writes its snapshot.</param>
/// <param name="CutShort">The shutdown grace ran out: the pass's backend calls are cancelled.</param>
public readonly record struct StopSignals(CancellationToken Stopping, CancellationToken CutShort);

/// <summary>The settings of a pass that are not the reconciler's.</summary>
/// <param name="SettleTime">A file that does not parse and was written less than this ago is read again, not reported.</param>
/// <param name="ReconcileInterval">When the next scheduled pass is due, for the snapshot's <c>nextReconcileAt</c>.</param>
/// <param name="Retry">The retry limits of analyses that set none.</param>
public sealed record WorkflowPassSettings(TimeSpan SettleTime, TimeSpan ReconcileInterval, RetryLimits Retry)
{
    /// <summary>How long backend calls may run once the daemon is stopping (for the snapshot's error when they were cut short).</summary>
    public TimeSpan ShutdownGrace { get; init; }

    /// <summary>
    /// A definition the configured backend cannot run (<c>s3://</c> outputs on the Local backend), as one error for the
    /// workflow; null when it can. The pass then reconciles nothing and keeps the slots as last seen.
    /// </summary>
    public Func<Workflow, string, InputError?> BackendCheck { get; init; } = (_, _) => null;
}

/// <summary>
/// One pass of one workflow, from its file to its written snapshot: reads the definition (keeping the last good one
/// while a broken edit is reported, and waiting for a half-written file), plans the slots (again only when the
/// workflow or its metadata changed), reconciles, writes the snapshot when it says something new and consumes the retry
/// requests it applied.
/// A problem of this workflow ends up in its snapshot and, once, in the log; it never escapes.
/// </summary>
public sealed class WorkflowPass(
    WorkflowReconciler reconciler,
    IWorkflowSource workflows,
    ISnapshotStore snapshots,
    WorkflowPassSettings settings,
    TimeProvider clock,
    ILogger<WorkflowPass>? logger = null)
{
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    /// <summary>A definition that could be used this pass (or the last good one) and the problems found on the way.</summary>
    private sealed record Definition(LoadedWorkflow? Loaded, List<string> Errors);

    /// <summary>
    /// What reconciling gave: the snapshot, the transitions (null when the pass did not run), the retry requests to
    /// consume, and whether it failed (threw).
    /// </summary>
    private sealed record Reconciled(WorkflowSnapshot Snapshot, IReadOnlyList<SlotTransition>? Transitions, string? RetryVersion, bool Failed = false);

    public async Task<PassReport> RunAsync(WorkflowLocation location, WorkflowMemory memory, StopSignals stop, CancellationToken cancellationToken)
    {
        // Every line of the pass, the reconciler's and the backend clients' included, names the workflow.
        using var scope = LogScopes.Workflow(_logger, location.Project, location.FileName);
        if (!memory.SnapshotLoaded)
        {
            memory.Snapshot = await snapshots.LoadAsync(location, cancellationToken);
            memory.SnapshotLoaded = true;
            memory.SnapshotStored = memory.Snapshot is not null;
        }

        var now = clock.GetUtcNow();
        var read = await workflows.ReadAsync(location, cancellationToken);
        if (read is WorkflowRead.Gone)
        {
            return PassReport.Gone;
        }

        if (read is WorkflowRead.Invalid invalid && now - invalid.WrittenAt is var age && age < settings.SettleTime && age >= TimeSpan.Zero)
        {
            // Said once per write: a burst of events for one write (created, changed, a rescan) runs several passes.
            if (memory.HalfWrittenSaid != invalid.WrittenAt)
            {
                var files = string.Join(", ", invalid.Errors.Select(e => e.File).Distinct(StringComparer.Ordinal));
                Log.WorkflowMaybeHalfWritten(_logger, files.Length > 0 ? files : location.FileName, Readable.Duration(age), Readable.Duration(settings.SettleTime));
                memory.HalfWrittenSaid = invalid.WrittenAt;
            }

            return PassReport.ReadAgainSoon;
        }

        var definition = Choose(read, memory, location, now);
        var unsupported = definition.Loaded is { } usable ? settings.BackendCheck(usable.Workflow, location.FileName) : null;
        if (unsupported is not null)
        {
            // s3:// outputs on the Local backend: one error for the workflow, not a failed pass every time.
            definition.Errors.Add(unsupported.ToString());
        }

        ReportErrorsOnce(memory, definition.Errors);
        var next = now + settings.ReconcileInterval;
        var reconciled = definition.Loaded is null || unsupported is not null
            ? new Reconciled(LastSeen.Of(memory.Snapshot, location, reconciler.BackendName, definition.Loaded?.Workflow.Name, now, next, definition.Errors), null, null)
            : await ReconcileAsync(location, memory, definition.Loaded, definition.Errors, now, next, stop, cancellationToken);

        var previous = memory.Snapshot;
        var saved = await StoreAsync(location, memory, previous, reconciled.Snapshot);
        if (saved && reconciled.RetryVersion is { } version)
        {
            // Applied and remembered in the snapshot stored: the request file has served.
            await workflows.ConsumeRetryRequestsAsync(location, version, CancellationToken.None);
        }

        // A pass that did not run publishes the states last seen: its only transitions are slots new in the plan's
        // place (a first pass without a usable definition has none), found by the same diff the reconciler makes.
        // The snapshot published carries this pass's times, written to the store or not.
        memory.Snapshot = reconciled.Snapshot;
        ReportProgress(memory, reconciled.Snapshot.Summary);
        return new PassReport(PassOutcome.Done, reconciled.Snapshot, reconciled.Transitions ?? SlotStates.Of(previous).To(reconciled.Snapshot))
        {
            ReconcileFailed = reconciled.Failed,
            SnapshotNotWritten = !saved,
        };
    }

    /// <summary>The definition to use: the one read, or while the file is broken or unreadable the last good one.</summary>
    private static Definition Choose(WorkflowRead read, WorkflowMemory memory, WorkflowLocation location, DateTimeOffset now)
    {
        switch (read)
        {
            case WorkflowRead.Loaded loaded:
                memory.LastGood = loaded.Workflow;
                memory.LastGoodAt = now;
                return new Definition(loaded.Workflow, []);
            case WorkflowRead.Invalid invalid:
                var errors = invalid.Errors.Select(error => error.ToString()).ToList();
                if (memory.LastGood is not null)
                {
                    errors.Add($"{location.FileName}: still using the last good definition, read at {Readable.Time(memory.LastGoodAt)}, until the file is fixed");
                }

                return new Definition(memory.LastGood, errors);
            case WorkflowRead.Unreadable unreadable:
                return new Definition(memory.LastGood, [unreadable.Message]);
            default:
                throw new ArgumentOutOfRangeException(nameof(read), read, "a workflow read the pass does not know");
        }
    }

    private async Task<Reconciled> ReconcileAsync(
        WorkflowLocation location, WorkflowMemory memory, LoadedWorkflow loaded, List<string> errors,
        DateTimeOffset now, DateTimeOffset next, StopSignals stop, CancellationToken cancellationToken)
    {
        var plan = PlanOf(location, memory, loaded);
        // An unusable request file is an error of this workflow's snapshot, not a failed pass.
        var requests = await workflows.ReadRetryRequestsAsync(location, cancellationToken);
        if (requests.Error is { } retryError)
        {
            errors.Add(retryError);
        }

        // When the daemon is asked to stop, the pass in flight submits nothing more, its backend calls get
        // the shutdown grace to finish, and it still writes its snapshot.
        using var calls = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stop.CutShort);
        try
        {
            var input = new PassInput(plan, memory.Snapshot, requests.Requests, now, stop.Stopping)
            {
                PreviousIsComplete = memory.SnapshotIsComplete,
                DefinitionSha256 = loaded.Sha256,
                Notes = loaded.Workflow.Notes,
                Errors = errors,
                NextReconcileAt = next,
            };
            var result = await reconciler.ReconcileAsync(input, calls.Token);
            memory.SnapshotIsComplete = true;
            return new Reconciled(result.Snapshot, result.Transitions, requests.Version);
        }
        catch (Exception e) when (e is not OperationCanceledException || stop.Stopping.IsCancellationRequested || !cancellationToken.IsCancellationRequested)
        {
            // A backend error fails the pass for this workflow only: keep the last known states, and the retry requests
            // for the next pass. Jobs it submitted before failing may be missing from the snapshot kept: the next pass
            // that would submit looks for them by name first.
            Log.PassFailed(_logger, e.Message, e);
            memory.SnapshotIsComplete = false;
            errors.Add(e is OperationCanceledException && stop.Stopping.IsCancellationRequested
                ? $"the daemon stopped during this pass: its backend calls were cut short after {Readable.Duration(settings.ShutdownGrace)}; states are as last seen"
                : $"reconcile failed, states are as last seen: {e.Message}");
            return new Reconciled(LastSeen.Of(memory.Snapshot, location, reconciler.BackendName, loaded.Workflow.Name, now, next, errors, loaded), null, null, Failed: true);
        }
    }

    /// <summary>
    /// Planning expands every slot's templates and hashes its spec: with thousands of slots it is most of a pass's work,
    /// and it gives the same plan for the same workflow and metadata bytes, so the plan is kept until they change.
    /// </summary>
    private WorkflowPlan PlanOf(WorkflowLocation location, WorkflowMemory memory, LoadedWorkflow loaded)
    {
        var key = (loaded.Sha256, loaded.SamplesSha256);
        if (memory.Plan is not { } plan || memory.PlanKey != key)
        {
            plan = WorkflowPlanner.Plan(loaded.Workflow, loaded.Samples, location, settings.Retry);
            memory.Plan = plan;
            memory.PlanKey = key;
            ReportInvalidSlots(memory, plan);
        }

        return plan;
    }

    /// <summary>
    /// Writes the snapshot unless the store already holds what it says (<see cref="SnapshotContent.Same"/>: all but this
    /// pass's own times); true when the store holds it afterwards. A steady pass writes nothing; whatever must survive
    /// a crash (a submission, a job id, an attempt, a backoff) differs from what is stored, and is written at once.
    /// </summary>
    private async Task<bool> StoreAsync(WorkflowLocation location, WorkflowMemory memory, WorkflowSnapshot? previous, WorkflowSnapshot snapshot)
    {
        if (memory.SnapshotStored && SnapshotContent.Same(previous, snapshot) && snapshots.HoldsLast(location))
        {
            return true;
        }

        memory.SnapshotStored = await SaveAsync(location, memory, snapshot);
        return memory.SnapshotStored;
    }

    /// <summary>Writes the snapshot; true when it was written. A failure is logged once per cause, and its end once.</summary>
    private async Task<bool> SaveAsync(WorkflowLocation location, WorkflowMemory memory, WorkflowSnapshot snapshot)
    {
        try
        {
            // Not on the pass's token: a pass cut short by the shutdown must still leave its snapshot (a local write).
            await snapshots.SaveAsync(location, snapshot, CancellationToken.None);
            if (memory.SnapshotWrites.Recovered())
            {
                Log.SnapshotWrittenAgain(_logger);
            }

            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only folder fails every pass until someone fixes it: the daemon carries on with its memory.
            if (memory.SnapshotWrites.IsNew(e))
            {
                Log.SnapshotWriteFailed(_logger, e.Message);
            }

            return false;
        }
    }

    private void ReportErrorsOnce(WorkflowMemory memory, List<string> errors)
    {
        var text = errors.Count == 0 ? null : string.Join(" | ", errors);
        if (text == memory.LastErrorText)
        {
            return;
        }

        if (text is null)
        {
            Log.WorkflowValidAgain(_logger);
        }
        else
        {
            Log.WorkflowInvalid(_logger, text);
        }

        memory.LastErrorText = text;
    }

    private void ReportProgress(WorkflowMemory memory, SnapshotSummary s)
    {
        var text = ProgressText.Of(s);
        if (text != memory.LastProgress)
        {
            Log.Progress(_logger, text);
            memory.LastProgress = text;
        }
    }

    /// <summary>The most kinds of invalid slot said one line each; the rest are counted in one more line.</summary>
    private const int InvalidReasonsSaid = 5;

    /// <summary>
    /// Why slots are invalid, once per plan that changes it: one line per distinct reason with how many slots and the
    /// first samples (502 samples with the same typo are one line), so the log says why, not only how many.
    /// </summary>
    private void ReportInvalidSlots(WorkflowMemory memory, WorkflowPlan plan)
    {
        var reasons = plan.Slots.Where(s => s.Spec is null)
            .GroupBy(s => s.Error ?? "invalid", StringComparer.Ordinal)
            .Select(g => (Error: g.Key, Samples: g.Select(s => s.Sample).Distinct(StringComparer.Ordinal).ToList(), Count: g.Count()))
            .ToList();
        var text = string.Join("\n", reasons.Select(r => $"{r.Count} {r.Error} {string.Join(",", r.Samples)}"));
        if (text == (memory.LastInvalidText ?? ""))
        {
            return;
        }

        if (reasons.Count == 0)
        {
            Log.SlotsValidAgain(_logger);
        }

        foreach (var (error, samples, count) in reasons.Take(InvalidReasonsSaid))
        {
            var named = string.Join(", ", samples.Take(3)) + (samples.Count > 3 ? $" and {samples.Count - 3} more" : "");
            Log.SlotsInvalid(_logger, Readable.Count(count, "slot"), error, named);
        }

        if (reasons.Count > InvalidReasonsSaid)
        {
            var rest = reasons.Skip(InvalidReasonsSaid).ToList();
            Log.MoreSlotsInvalid(_logger, Readable.Count(rest.Sum(r => r.Count), "slot"), rest.Count);
        }

        memory.LastInvalidText = text;
    }
}

using Batchkeeper.Core.Passes;
using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Reconciliation;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Core.Workflows;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Registry;
using Batchkeeper.Daemon.Snapshots;
using Batchkeeper.Daemon.Watching;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Reconciliation;

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
/// Runs one reconcile pass for one workflow file: reads the file and its metadata (keeping the last good
/// definition while a broken edit is reported), plans the slots, reconciles, writes the snapshot, and publishes it
/// with the pass's slot transitions on the registry's change feed. A problem with one workflow ends up in its snapshot and the log; it never escapes.
/// </summary>
public sealed class WorkflowPassRunner(
    WorkflowReconciler reconciler,
    WorkflowRegistry registry,
    IWorkflowSource workflows,
    ISnapshotStore snapshots,
    Systemd.LoopHealth health,
    Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime,
    TimeProvider clock,
    IOptions<BatchkeeperOptions> options,
    ILogger<WorkflowPassRunner> logger,
    ShutdownDeadline? shutdown = null)
{
    /// <summary>The pass's memory of one workflow, kept by the registry (<see cref="ManagedWorkflow.Memory{T}"/>) and gone with it.</summary>
    private sealed class WorkflowState
    {
        public bool SnapshotLoaded { get; set; }
        public WorkflowSnapshot? Snapshot { get; set; }
        public LoadedWorkflow? LastGood { get; set; }
        public DateTimeOffset LastGoodAt { get; set; }
        public string? LastErrorText { get; set; }
        public string? LastProgress { get; set; }

        /// <summary>The plan of the last pass, and the hashes of the workflow and metadata it was made from.</summary>
        public WorkflowPlan? Plan { get; set; }
        public (string Workflow, string Samples) PlanKey { get; set; }

        /// <summary>
        /// Whether <see cref="Snapshot"/> is what this process's last pass returned, having run to its end, and so
        /// knows every job submitted for the workflow. False for a snapshot read from disk (the daemon that wrote it
        /// may have died right after a SubmitJob) and after a failed pass.
        /// </summary>
        public bool SnapshotIsComplete { get; set; }

        /// <summary>Failed snapshot writes, logged once per cause while they keep failing (a full disk, a read-only folder).</summary>
        public RepeatedWriteFailure SnapshotWrites { get; } = new();
    }

    /// <summary>One pass over the workflow file at <paramref name="path"/>.</summary>
    public async Task<PassOutcome> RunAsync(string path, CancellationToken cancellationToken)
    {
        using var running = health.PassStarted(path);

        // Every line of the pass, the Core's and the AWS clients' included, names the workflow.
        using var scope = Core.Logging.LogScopes.Workflow(logger, WorkflowFiles.ProjectOf(path), Path.GetFileName(path));
        return await RunCoreAsync(path, cancellationToken);
    }

    private async Task<PassOutcome> RunCoreAsync(string path, CancellationToken cancellationToken)
    {
        // A pass for a workflow no longer managed (removed while this trigger waited) has nothing to do.
        if (registry.Get(path) is not { } managed)
        {
            return PassOutcome.Gone;
        }

        var state = managed.Memory<WorkflowState>();
        var project = WorkflowFiles.ProjectOf(path);
        var file = Path.GetFileName(path);
        var location = WorkflowFiles.LocationOf(path);
        if (!state.SnapshotLoaded)
        {
            state.Snapshot = await snapshots.LoadAsync(location, cancellationToken);
            state.SnapshotLoaded = true;
        }

        var now = clock.GetUtcNow();
        var errors = new List<string>();
        LoadedWorkflow? loaded;
        switch (await workflows.ReadAsync(location, cancellationToken))
        {
            case WorkflowRead.Loaded read:
                loaded = read.Workflow;
                state.LastGood = loaded;
                state.LastGoodAt = now;
                break;
            case WorkflowRead.Invalid invalid:
                var age = now - invalid.WrittenAt;
                if (age < options.Value.SettleTime && age >= TimeSpan.Zero)
                {
                    Log.WorkflowMaybeHalfWritten(logger, project, file, age);
                    return PassOutcome.ReadAgainSoon;
                }

                errors.AddRange(invalid.Errors.Select(error => error.ToString()));
                loaded = state.LastGood;
                if (loaded is not null)
                {
                    errors.Add($"{file}: still using the last good definition, read at {state.LastGoodAt:O}, until the file is fixed");
                }

                break;
            case WorkflowRead.Unreadable unreadable:
                errors.Add(unreadable.Message);
                loaded = state.LastGood;
                break;
            default:
                return PassOutcome.Gone;
        }

        // s3:// outputs on the Local backend: one error for the workflow (in its snapshot and, once, the log), not a
        // failed pass with a stack trace every time.
        var unsupported = loaded is null ? null : Outputs.BackendOutputs.Unsupported(loaded.Workflow, options.Value.Backend, file);
        if (unsupported is not null)
        {
            errors.Add(unsupported.ToString());
        }

        ReportErrorsOnce(state, project, file, errors);

        WorkflowSnapshot snapshot;
        IReadOnlyList<SlotTransition>? transitions = null; // the pass's own, when it ran to its end
        string? retryVersion = null;
        var next = now + options.Value.ReconcileInterval;
        if (loaded is null || unsupported is not null)
        {
            snapshot = LastSeen.Of(state.Snapshot, location, reconciler.BackendName, loaded?.Workflow.Name, now, next, errors);
        }
        else
        {
            // Planning expands every slot's templates and hashes its spec: with thousands of slots it is most of a
            // pass's work, and it gives the same plan for the same workflow and metadata bytes.
            var key = (loaded.Sha256, loaded.SamplesSha256);
            var plan = state.Plan is { } cached && state.PlanKey == key
                ? cached
                : WorkflowPlanner.Plan(loaded.Workflow, loaded.Samples, location, options.Value.Retry.ToLimits());
            state.Plan = plan;
            state.PlanKey = key;
            // An unusable request file is an error of this workflow's snapshot, not a failed pass.
            var requests = await workflows.ReadRetryRequestsAsync(location, cancellationToken);
            IReadOnlyList<RetryRequest> retries = requests.Requests;
            retryVersion = requests.Version;
            if (requests.Error is { } retryError)
            {
                errors.Add(retryError);
            }

            // When the daemon is asked to stop, the pass in flight submits nothing more, its backend calls get
            // ShutdownGrace to finish, and it still writes its snapshot.
            using var calls = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, shutdown?.Token ?? CancellationToken.None);
            try
            {
                var input = new PassInput(plan, state.Snapshot, retries, now, lifetime.ApplicationStopping)
                {
                    PreviousIsComplete = state.SnapshotIsComplete,
                    DefinitionSha256 = loaded.Sha256,
                    Notes = loaded.Workflow.Notes,
                    Errors = errors,
                    NextReconcileAt = next,
                };
                var result = await reconciler.ReconcileAsync(input, calls.Token);
                snapshot = result.Snapshot;
                transitions = result.Transitions;
                state.SnapshotIsComplete = true;
            }
            catch (Exception e) when (e is not OperationCanceledException || lifetime.ApplicationStopping.IsCancellationRequested || !cancellationToken.IsCancellationRequested)
            {
                // A backend error fails the pass for this workflow only: keep the last known states.
                Log.PassFailed(logger, project, file, e.Message, e);
                retryVersion = null; // not applied: keep the requests for the next pass

                // Jobs it submitted before failing may be missing from the snapshot kept: the next pass that would
                // submit looks for them by name first.
                state.SnapshotIsComplete = false;
                errors.Add(e is OperationCanceledException && lifetime.ApplicationStopping.IsCancellationRequested
                    ? $"the daemon stopped during this pass: its backend calls were cut short after {options.Value.ShutdownGrace}; states are as last seen"
                    : $"reconcile failed, states are as last seen: {e.Message}");
                snapshot = LastSeen.Of(state.Snapshot, location, reconciler.BackendName, loaded.Workflow.Name, now, next, errors, loaded);
            }
        }

        var saved = false;
        try
        {
            // Not on the pass's token: a pass cut short by the shutdown must still leave its snapshot (a local write).
            await snapshots.SaveAsync(location, snapshot, CancellationToken.None);
            saved = true;
            if (state.SnapshotWrites.Recovered())
            {
                Log.SnapshotWrittenAgain(logger, project, file);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Once per cause, not once a pass: a read-only folder fails every pass until someone fixes it.
            if (state.SnapshotWrites.IsNew(e))
            {
                Log.SnapshotWriteFailed(logger, project, file, e.Message);
            }
        }

        if (retryVersion is not null && saved)
        {
            // Applied and remembered in the snapshot just written: the request file has served.
            await workflows.ConsumeRetryRequestsAsync(location, retryVersion, CancellationToken.None);
        }

        // A pass that did not run (no usable definition, or it failed) publishes a copy of the states last seen: its
        // transitions are only slots it added from the plan, found by the same diff the pass makes.
        var previous = state.Snapshot;
        state.Snapshot = snapshot;
        registry.Publish(managed, snapshot, transitions ?? SlotStates.Of(previous).To(snapshot));
        ReportProgress(state, project, file, snapshot.Summary);
        return PassOutcome.Done;
    }

    private void ReportErrorsOnce(WorkflowState state, string project, string file, List<string> errors)
    {
        var text = errors.Count == 0 ? null : string.Join(" | ", errors);
        if (text == state.LastErrorText)
        {
            return;
        }

        if (text is null)
        {
            Log.WorkflowValidAgain(logger, project, file);
        }
        else
        {
            Log.WorkflowInvalid(logger, project, file, text);
        }

        state.LastErrorText = text;
    }

    private void ReportProgress(WorkflowState state, string project, string file, SnapshotSummary s)
    {
        var text = $"{s.Complete}/{s.Total}/{s.Running}/{s.Queued}/{s.Failed}/{s.Blocked}/{s.Invalid}";
        if (text != state.LastProgress)
        {
            Log.Progress(logger, project, file, s.Complete, s.Total, s.Running, s.Queued, s.Failed, s.Blocked, s.Invalid);
            state.LastProgress = text;
        }
    }
}

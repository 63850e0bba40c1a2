using Batchkeeper.Core.Passes;
using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Reconciliation;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Core.Tests.Fakes;
using Batchkeeper.Core.Workflows;
using Microsoft.Extensions.Logging;
using static Batchkeeper.Core.Tests.Reconciliation.ReconcilerHarness;

namespace Batchkeeper.Core.Tests.Passes;

/// <summary>
/// The pass around the reconciler, with fakes for the workflow source and the snapshot store and a manual clock: the
/// last good definition, half-written files, the plan kept, errors said once, snapshot writes and retry requests.
/// </summary>
public sealed class WorkflowPassTests
{
    private static readonly WorkflowLocation Here = new("demo", "wf.json", "/projects/demo");
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(5);

    /// <summary>A failed job is resubmitted in the pass that sees it fail.</summary>
    private static readonly RetryLimits NoBackoff = Defaults with { Backoff = TimeSpan.Zero };

    private readonly ManualClock _clock = new();
    private readonly FakeOutputStore _outputs = new();
    private readonly FakeWorkflowSource _source = new();
    private readonly FakeSnapshotStore _store = new();
    private readonly ListLogger<WorkflowPass> _log = new();
    private readonly WorkflowMemory _memory = new();
    private readonly FakeJobBackend _backend;
    private readonly WorkflowPass _pass;

    public WorkflowPassTests()
    {
        _backend = new FakeJobBackend(_clock);
        var reconciler = new WorkflowReconciler(_backend, _outputs, new ReconcilerOptions { SubmitParallelism = 1 });
        _pass = new WorkflowPass(reconciler, _source, _store, new WorkflowPassSettings(Settle, TimeSpan.FromMinutes(5), NoBackoff), _clock, _log);
    }

    private static LoadedWorkflow Loaded(string samplesSha = "m1", params string[] samples) =>
        new(WorkflowParser.Parse(OneStep(), Here.FileName, Here.Project), Samples(samples.Length == 0 ? ["s1"] : samples), "w1", samplesSha);

    private WorkflowRead.Invalid Broken(TimeSpan writtenAgo) =>
        new([new InputError(Here.FileName, "analyses[0].name", "expected a string")], _clock.GetUtcNow() - writtenAgo);

    private Task<PassReport> PassAsync(StopSignals stop = default) => _pass.RunAsync(Here, _memory, stop, CancellationToken.None);

    [Fact]
    public async Task BrokenEdit_KeepsTheLastGoodDefinition_AndSaysSoInTheSnapshot()
    {
        _source.Read = new WorkflowRead.Loaded(Loaded());
        await PassAsync();
        _clock.Advance(TimeSpan.FromMinutes(1));
        _source.Read = Broken(writtenAgo: TimeSpan.FromMinutes(1));

        var report = await PassAsync();

        Assert.Equal(PassOutcome.Done, report.Outcome);
        var errors = _store.Saved!.Errors.Select(e => e.Message).ToArray();
        Assert.Contains(errors, e => e.Contains("analyses[0].name", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("still using the last good definition", StringComparison.Ordinal));
        Assert.Equal(("job-1", SlotState.Queued), (_store.Saved.Slots[0].JobId, _store.Saved.Slots[0].State));
        Assert.Single(_backend.SubmitCalls);
    }

    [Fact]
    public async Task BrokenFileWithNoGoodDefinitionYet_WritesASnapshotOfItsErrors_AndSubmitsNothing()
    {
        _source.Read = Broken(writtenAgo: TimeSpan.FromMinutes(1));

        var report = await PassAsync();

        Assert.Equal(PassOutcome.Done, report.Outcome);
        Assert.Empty(_store.Saved!.Slots);
        Assert.Contains(_store.Saved.Errors, e => e.Message.Contains("analyses[0].name", StringComparison.Ordinal));
        Assert.Empty(_backend.SubmitCalls);
        Assert.Empty(report.Transitions);
    }

    [Fact]
    public async Task FileThatDoesNotParseAndWasJustWritten_IsReadAgainSoon_AndNothingIsWrittenOrLoggedAsAnError()
    {
        _source.Read = Broken(writtenAgo: TimeSpan.FromSeconds(1));

        var report = await PassAsync();

        Assert.Equal(PassOutcome.ReadAgainSoon, report.Outcome);
        Assert.Null(report.Snapshot);
        Assert.Equal(0, _store.Saves);
        Assert.Equal(1, _log.Count(15));
        Assert.Equal(0, _log.Count(13));
    }

    [Fact]
    public async Task GoneFile_EndsThePassWithoutWritingAnything()
    {
        _source.Read = new WorkflowRead.Gone();

        var report = await PassAsync();

        Assert.Equal(PassOutcome.Gone, report.Outcome);
        Assert.Equal(0, _store.Saves);
    }

    [Fact]
    public async Task SameWorkflowAndSamples_KeepThePlan_AndChangedMetadataMakesANewOne()
    {
        _source.Read = new WorkflowRead.Loaded(Loaded("m1"));
        await PassAsync();
        var first = _memory.Plan;
        _source.Read = new WorkflowRead.Loaded(Loaded("m1"));
        await PassAsync();
        Assert.Same(first, _memory.Plan);

        _source.Read = new WorkflowRead.Loaded(Loaded("m2", "s1", "s2"));
        await PassAsync();

        Assert.NotSame(first, _memory.Plan);
        Assert.Equal(["s1", "s2"], _store.Saved!.Slots.Select(s => s.Sample));
    }

    [Fact]
    public async Task TheSameErrors_AreLoggedOnce_AndTheirEndOnce()
    {
        _source.Read = Broken(writtenAgo: TimeSpan.FromMinutes(1));
        await PassAsync();
        await PassAsync();
        _source.Read = new WorkflowRead.Loaded(Loaded());
        await PassAsync();
        await PassAsync();

        Assert.Equal(1, _log.Count(13));
        Assert.Equal(1, _log.Count(14));
        Assert.Contains(_log.Lines, l => l.EventId == 13 && l.Message.EndsWith("[demo/wf.json]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SnapshotThatCannotBeWritten_IsLoggedOncePerCause_AndTheRetryRequestsWaitUntilAWriteWorks()
    {
        _source.Read = new WorkflowRead.Loaded(Loaded());
        _source.Retries = new RetryRequestSet([new RetryRequest("r1", null, null, Start)], "v1", null);
        _store.SaveFailure = new IOException("No space left on device");

        var first = await PassAsync();
        await PassAsync();

        Assert.Equal(PassOutcome.Done, first.Outcome);
        Assert.NotNull(first.Snapshot);
        Assert.Equal(1, _log.Count(21));
        Assert.Empty(_source.Consumed);

        _store.SaveFailure = null;
        await PassAsync();
        await PassAsync();

        Assert.Equal(1, _log.Count(22));
        Assert.Equal(["v1", "v1"], _source.Consumed);
    }

    [Fact]
    public async Task UnusableRetryFile_IsAnErrorOfTheSnapshot_AndThePassStillRuns()
    {
        _source.Read = new WorkflowRead.Loaded(Loaded());
        _source.Retries = new RetryRequestSet([], null, "wf.retry.json: not JSON (line 1)");

        await PassAsync();

        Assert.Contains(_store.Saved!.Errors, e => e.Message == "wf.retry.json: not JSON (line 1)");
        Assert.Single(_backend.SubmitCalls);
    }

    [Fact]
    public async Task FailedReconcile_KeepsTheStatesAsLastSeen_ReportsNoTransition_AndTheNextSubmittingPassListsJobsFirst()
    {
        _source.Read = new WorkflowRead.Loaded(Loaded());
        await PassAsync();
        _outputs.FailWith(new IOException("S3 unreachable"));
        _backend.Fail("job-1", "Essential container in task exited", exitCode: 1);

        var failed = await PassAsync();

        Assert.Contains(failed.Snapshot!.Errors, e => e.Message == "reconcile failed, states are as last seen: S3 unreachable");
        Assert.Equal(("job-1", SlotState.Queued), (failed.Snapshot.Slots[0].JobId, failed.Snapshot.Slots[0].State));
        Assert.Empty(failed.Transitions);
        Assert.Equal(1, _log.Count(16));

        _outputs.FailWith(null);
        var lists = _backend.ListCalls.Count;
        _clock.Advance(TimeSpan.FromMinutes(2));
        await PassAsync();

        Assert.Equal(2, _backend.SubmitCalls.Count);
        Assert.True(_backend.ListCalls.Count > lists, "after a failed pass, the pass that resubmits looks for the slot's jobs by name first");
    }

    [Fact]
    public async Task WhenTheDaemonIsStopping_ThePassSubmitsNothing_ButWritesItsSnapshot()
    {
        _source.Read = new WorkflowRead.Loaded(Loaded());
        using var stopping = new CancellationTokenSource();
        await stopping.CancelAsync();

        var report = await PassAsync(new StopSignals(stopping.Token, CancellationToken.None));

        Assert.Empty(_backend.SubmitCalls);
        Assert.Equal(1, _store.Saves);
        Assert.Equal(SlotState.Waiting, report.Snapshot!.Slots[0].State);
    }

    [Fact]
    public async Task BackendCallsCutShortAtShutdown_AreRecordedAsSuch_NotAsAFailureOfTheBackend()
    {
        _source.Read = new WorkflowRead.Loaded(Loaded());
        await PassAsync();
        using var stopping = new CancellationTokenSource();
        await stopping.CancelAsync();
        _outputs.FailWith(new OperationCanceledException());

        var report = await PassAsync(new StopSignals(stopping.Token, stopping.Token));

        Assert.Contains(report.Snapshot!.Errors, e => e.Message.StartsWith("the daemon stopped during this pass", StringComparison.Ordinal));
        Assert.Equal("job-1", report.Snapshot.Slots[0].JobId);
    }

    [Fact]
    public async Task DefinitionTheBackendCannotRun_IsOneErrorOfTheWorkflow_AndNothingIsReconciled()
    {
        var reconciler = new WorkflowReconciler(_backend, _outputs);
        var settings = new WorkflowPassSettings(Settle, TimeSpan.FromMinutes(5), Defaults)
        {
            BackendCheck = (_, file) => new InputError(file, "analyses[0].outputs", "on S3, but the Local backend checks only file outputs"),
        };
        var pass = new WorkflowPass(reconciler, _source, _store, settings, _clock, _log);
        _source.Read = new WorkflowRead.Loaded(Loaded());

        await pass.RunAsync(Here, _memory, default, CancellationToken.None);
        await pass.RunAsync(Here, _memory, default, CancellationToken.None);

        Assert.Empty(_backend.SubmitCalls);
        Assert.Equal(0, _outputs.Calls);
        Assert.Contains(_store.Saved!.Errors, e => e.Message.Contains("analyses[0].outputs", StringComparison.Ordinal));
        Assert.Equal(1, _log.Count(13));
    }

    [Fact]
    public async Task SnapshotOnDisk_IsReadOnce_AndTheFirstPassStartsFromIt()
    {
        _source.Read = new WorkflowRead.Loaded(Loaded());
        await PassAsync();
        var restarted = new WorkflowMemory();

        var report = await _pass.RunAsync(Here, restarted, default, CancellationToken.None);

        Assert.Single(_backend.SubmitCalls);
        Assert.Equal("job-1", report.Snapshot!.Slots[0].JobId);
        Assert.Empty(report.Transitions);
    }
    private static LoadedWorkflow Typo(string sha, params string[] samples) =>
        new(WorkflowParser.Parse(OneStep("\"command\": [\"run\", \"{fille_name}\"]"), Here.FileName, Here.Project), Samples(samples), sha, "m1");

    [Fact]
    public async Task InvalidSlots_AreLoggedWithTheirReason_OneLinePerReason_OncePerPlan_AndTheirEndOnce()
    {
        // Issue 16, item 9: the progress line said "5 invalid" and nothing said why.
        _source.Read = new WorkflowRead.Loaded(Typo("w-typo", "s1", "s2", "s3", "s4", "s5"));
        await PassAsync();
        await PassAsync();

        var line = Assert.Single(_log.Lines, l => l.EventId == 121);
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.StartsWith("5 slots invalid: wf.json: analyses[0].command[1]: unknown placeholder {fille_name}", line.Message, StringComparison.Ordinal);
        Assert.EndsWith("(samples s1, s2, s3 and 2 more). [demo/wf.json]", line.Message, StringComparison.Ordinal);

        _source.Read = new WorkflowRead.Loaded(Loaded("m1", "s1"));
        await PassAsync();
        await PassAsync();

        Assert.Equal(1, _log.Count(121));
        Assert.Equal(1, _log.Count(123));
    }

    [Fact]
    public async Task ProgressLine_SaysRetryingWaitingAndCancelled_NotOnlyTheStatesWithJobs()
    {
        // Issue 16, item 16: "0/4 complete, 0 running, 0 queued, 0 failed, 0 blocked, 0 invalid" while retries were due.
        var reconciler = new WorkflowReconciler(_backend, _outputs, new ReconcilerOptions { SubmitParallelism = 1 });
        var pass = new WorkflowPass(reconciler, _source, _store, new WorkflowPassSettings(Settle, TimeSpan.FromMinutes(5), Defaults), _clock, _log);
        var two = WorkflowParser.Parse(TwoSteps, Here.FileName, Here.Project);
        _source.Read = new WorkflowRead.Loaded(new LoadedWorkflow(two, Samples(["s1"]), "w1", "m1"));
        await pass.RunAsync(Here, _memory, default, CancellationToken.None);
        _backend.Fail("job-1", "Command exited", exitCode: 1);
        _backend.Fail("job-2", "Dependent Job failed");
        await pass.RunAsync(Here, _memory, default, CancellationToken.None);
        var cancelled = WorkflowParser.Parse(TwoSteps.Replace("\"workflow_name\": \"wf\",", "\"workflow_name\": \"wf\", \"cancel\": true,", StringComparison.Ordinal), Here.FileName, Here.Project);
        _source.Read = new WorkflowRead.Loaded(new LoadedWorkflow(cancelled, Samples(["s1"]), "w2", "m1"));
        await pass.RunAsync(Here, _memory, default, CancellationToken.None);

        var progress = _log.Lines.Where(l => l.EventId == 17).Select(l => l.Message.Split(" [")[0]).ToArray();
        Assert.Equal(
            ["Workflow progress: 0/2 complete, 2 queued.", "Workflow progress: 0/2 complete, 1 waiting, 1 retrying.", "Workflow progress: 0/2 complete, 2 cancelled."],
            progress);
    }

    [Fact]
    public async Task HalfWrittenFile_IsSaidOncePerWrite_NamingTheFileAndTheTimesInWords()
    {
        // Issue 16, item 17: 'does not parse yet and was written "00:00:00.2977536" ago', three times for one write.
        _source.Read = Broken(writtenAgo: TimeSpan.FromMilliseconds(300));
        await PassAsync();
        await PassAsync();
        await PassAsync();

        var line = Assert.Single(_log.Lines, l => l.EventId == 15);
        Assert.Equal("wf.json does not parse yet and was written 300 ms ago (it may still be being copied): reading it again in 5 s. [demo/wf.json]", line.Message);

        _source.Read = Broken(writtenAgo: TimeSpan.FromSeconds(1.5)); // written again
        await PassAsync();

        Assert.Equal(2, _log.Count(15));
    }

    // Snapshot writes: only when the content changed (issue 19). The snapshot a pass reports always has its own times.

    [Fact]
    public async Task SteadyPass_WhereNothingChanged_WritesNoSnapshot_ButReportsThisPassesTimes()
    {
        _source.Read = new WorkflowRead.Loaded(Loaded());
        await PassAsync();
        _backend.SetRunning("job-1");
        _clock.Advance(TimeSpan.FromMinutes(1));
        await PassAsync();
        var changedAt = _clock.GetUtcNow();
        Assert.Equal(2, _store.Saves);

        _clock.Advance(TimeSpan.FromMinutes(1));
        var steady = await PassAsync();

        Assert.Equal(2, _store.Saves);
        Assert.Equal(changedAt, _store.Saved!.ReconciledAt);
        Assert.Equal((_clock.GetUtcNow(), _clock.GetUtcNow() + TimeSpan.FromMinutes(5)), (steady.Snapshot!.ReconciledAt, steady.Snapshot.NextReconcileAt));
        Assert.Equal(SlotState.Running, steady.Snapshot.Slots[0].State);
    }

    [Fact]
    public async Task PassWhereOneSlotChanged_WritesTheSnapshot_WithTheChange()
    {
        _source.Read = new WorkflowRead.Loaded(Loaded("m1", "s1", "s2"));
        await PassAsync();
        await PassAsync();
        Assert.Equal(1, _store.Saves);

        _backend.SetRunning("job-2");
        await PassAsync();

        Assert.Equal(2, _store.Saves);
        Assert.Equal([SlotState.Queued, SlotState.Running], _store.Saved!.Slots.Select(s => s.State));
    }

    [Fact]
    public async Task Submission_IsStoredByThePassThatMadeIt_AsIsABackoff_WhileTheWaitWritesNothing()
    {
        var reconciler = new WorkflowReconciler(_backend, _outputs, new ReconcilerOptions { SubmitParallelism = 1 });
        var pass = new WorkflowPass(reconciler, _source, _store, new WorkflowPassSettings(Settle, TimeSpan.FromMinutes(5), Defaults), _clock, _log);
        _source.Read = new WorkflowRead.Loaded(Loaded());
        Task Pass() => pass.RunAsync(Here, _memory, default, CancellationToken.None);

        await Pass();
        Assert.Equal(("job-1", 1), (_store.Saved!.Slots[0].JobId, _store.Saved.Slots[0].History.Count));

        _backend.Fail("job-1", "Essential container in task exited", exitCode: 1);
        await Pass();
        var retrying = _store.Saved!.Slots[0];
        Assert.Equal((SlotState.Retrying, Start + Defaults.Backoff), (retrying.State, retrying.NextAttemptAt));
        var saves = _store.Saves;

        _clock.Advance(Defaults.Backoff / 2);
        await Pass();
        Assert.Equal(saves, _store.Saves);

        _clock.Advance(Defaults.Backoff);
        await Pass();
        Assert.Equal(saves + 1, _store.Saves);
        Assert.Equal(("job-2", 2), (_store.Saved!.Slots[0].JobId, _store.Saved.Slots[0].History.Count));
    }

    [Fact]
    public async Task SnapshotRemovedByHand_IsWrittenAgainByTheNextPass()
    {
        _source.Read = new WorkflowRead.Loaded(Loaded());
        await PassAsync();
        _store.Delete();

        await PassAsync();

        Assert.Equal(2, _store.Saves);
        Assert.Equal("job-1", _store.Saved!.Slots[0].JobId);
    }

    [Fact]
    public async Task AfterAWriteThatFailed_TheNextPassWrites_EvenWhenNothingChangedSince()
    {
        _source.Read = new WorkflowRead.Loaded(Loaded());
        await PassAsync();
        _backend.SetRunning("job-1");
        _store.SaveFailure = new IOException("No space left on device");
        await PassAsync();
        _store.SaveFailure = null;

        await PassAsync();

        Assert.Equal(2, _store.Saves);
        Assert.Equal(SlotState.Running, _store.Saved!.Slots[0].State);
    }

    [Fact]
    public async Task AfterARestart_APassOfAWorkflowThatDidNotChange_WritesNothing()
    {
        _source.Read = new WorkflowRead.Loaded(Loaded());
        await PassAsync();
        _clock.Advance(TimeSpan.FromMinutes(1));

        var report = await _pass.RunAsync(Here, new WorkflowMemory(), default, CancellationToken.None);

        Assert.Equal(1, _store.Saves);
        Assert.Equal(_clock.GetUtcNow(), report.Snapshot!.ReconciledAt);
    }

    [Fact]
    public async Task TheSameErrorAgain_WritesNothing_ItsEndIsWritten()
    {
        _source.Read = new WorkflowRead.Loaded(Loaded());
        await PassAsync();
        _clock.Advance(TimeSpan.FromMinutes(1));
        _source.Read = Broken(writtenAgo: TimeSpan.FromMinutes(1));
        await PassAsync();
        var reportedAt = _clock.GetUtcNow();
        Assert.Equal(2, _store.Saves);

        _clock.Advance(TimeSpan.FromMinutes(1));
        var again = await PassAsync();
        Assert.Equal(2, _store.Saves);
        Assert.All(_store.Saved!.Errors, e => Assert.Equal(reportedAt, e.At));
        Assert.All(again.Snapshot!.Errors, e => Assert.Equal(_clock.GetUtcNow(), e.At));

        _source.Read = new WorkflowRead.Loaded(Loaded());
        await PassAsync();
        Assert.Equal(3, _store.Saves);
        Assert.Empty(_store.Saved!.Errors);
    }
}

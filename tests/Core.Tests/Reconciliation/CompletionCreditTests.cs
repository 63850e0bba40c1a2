using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Snapshots;
using Microsoft.Extensions.Logging;
using static Batchkeeper.Core.Tests.Reconciliation.ReconcilerHarness;

namespace Batchkeeper.Core.Tests.Reconciliation;

/// <summary>
/// Which job a complete slot is credited to (issue 16, item 15). A slot whose outputs all exist is complete (the design's
/// step 2), but while its own job is still active the outputs count only once that job has ended, and the line that
/// completes the slot names a job only when that job succeeded.
/// </summary>
public sealed class CompletionCreditTests
{
    private static string Lines(ReconcilerHarness h) => string.Join("\n", h.Log.Lines.Select(l => $"{l.Level} {l.EventId} {l.Message}"));

    [Fact]
    public async Task OutputsWrittenWhileTheSlotsJobRuns_AreNotAskedAbout_UntilItEnds_ThenCountAndTheSucceededJobIsNamed()
    {
        var h = new ReconcilerHarness(OneStep());
        await h.PassAsync();
        var uri = Assert.Single(h.Plan.Slots.Single().Spec!.Outputs).Uri;
        h.Backend.SetRunning("job-1");
        h.MakeOutputs("s1", "align");
        var asked = h.Outputs.Calls;

        await h.PassAsync();

        // Outputs would not count before the job has ended: a pass while it runs costs the output store nothing.
        var running = h.Slot("s1", "align");
        Assert.Equal((SlotState.Running, "job-1", null), (running.State, running.JobId, running.Message));
        Assert.DoesNotContain(h.Outputs.Queries.Skip(asked), q => q.Contains(uri));
        Assert.DoesNotContain(h.Log.Lines, l => l.Message.StartsWith("Slot is complete", StringComparison.Ordinal));

        h.Backend.Succeed("job-1");
        await h.PassAsync();

        var done = h.Slot("s1", "align");
        Assert.Equal(SlotState.Complete, done.State);
        Assert.True(Assert.Single(done.Outputs).Exists);
        var line = Assert.Single(h.Log.Lines, l => l.Message.StartsWith("Slot is complete", StringComparison.Ordinal));
        Assert.Equal((103, LogLevel.Information), (line.EventId, line.Level));
        Assert.StartsWith("Slot is complete: job job-1 succeeded and every output exists. [demo/wf.json sample s1 analysis align]", line.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AJobSeenEndedInThePass_HasItsOutputsCheckedInThatPass_OnlyThoseOfEndedJobs()
    {
        // Polling learns of an end at step 4, after step 2 has passed the slot by: its outputs are checked then, in the
        // same pass, so a succeeded job completes its slot at once rather than waiting for its outputs' grace period.
        var h = new ReconcilerHarness(OneStep(), Samples("s1", "s2"));
        await h.PassAsync();
        h.Backend.SetRunning("job-1");
        h.Backend.SetRunning("job-2");
        await h.PassAsync();
        var ended = h.Plan.Slots.Single(s => s.Sample == "s1").Spec!.Outputs[0].Uri;
        var running = h.Plan.Slots.Single(s => s.Sample == "s2").Spec!.Outputs[0].Uri;
        h.MakeOutputs("s1", "align");
        h.Backend.Succeed("job-1");
        var asked = h.Outputs.Calls;

        await h.PassAsync();

        Assert.Equal((SlotState.Complete, SlotState.Running), (h.Slot("s1", "align").State, h.Slot("s2", "align").State));
        var queries = h.Outputs.Queries.Skip(asked).ToArray();
        Assert.Equal(1, queries.Count(q => q.Contains(ended)));
        Assert.DoesNotContain(queries, q => q.Contains(running));
    }

    [Fact]
    public async Task OutputsOfAJobThatThenFails_CompleteTheSlot_WithAWarningNamingTheFailure_AndNoRetry()
    {
        // A job killed (kill -9) after it wrote its output: the outputs exist, so the slot is complete, but the line says
        // the job failed instead of crediting it, and its FAILED is not followed by a retry or a failure warning.
        var h = new ReconcilerHarness(OneStep());
        await h.PassAsync();
        h.Backend.SetRunning("job-1");
        h.MakeOutputs("s1", "align");
        await h.PassAsync();
        h.Backend.Fail("job-1", "Command exited", exitCode: 137);

        await h.PassAsync();

        var slot = h.Slot("s1", "align");
        Assert.Equal((SlotState.Complete, 1, 1), (slot.State, slot.Attempt, h.Backend.SubmitCalls.Count));
        Assert.Equal(FailureClass.OutOfMemory, Assert.Single(slot.History).FailureClass);
        var line = Assert.Single(h.Log.Lines, l => l.Message.StartsWith("Slot is complete", StringComparison.Ordinal));
        Assert.Equal((115, LogLevel.Warning), (line.EventId, line.Level));
        Assert.Contains("although job job-1 failed (Command exited; exit code 137)", line.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(h.Log.Lines, l => l.EventId == 104 || l.Message.Contains("is FAILED", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AfterASpecChange_TheOldJobsOutputs_DoNotCompleteTheSlotInTheNameOfTheNewJobThatHasNotRun()
    {
        var h = new ReconcilerHarness(OneStep());
        await h.PassAsync();
        h.Backend.SetRunning("job-1");
        await h.PassAsync();
        h.Load(OneStep("\"containerOverrides\": { \"memory\": 2000 }"));
        await h.PassAsync();
        Assert.Equal("job-2", h.Slot("s1", "align").JobId);

        h.MakeOutputs("s1", "align"); // written by job-1, of the old spec, while job-2 is still queued
        await h.PassAsync();

        Assert.Equal((SlotState.Queued, "job-2"), (h.Slot("s1", "align").State, h.Slot("s1", "align").JobId));
        Assert.DoesNotContain(h.Log.Lines, l => l.Message.StartsWith("Slot is complete", StringComparison.Ordinal));

        h.Backend.Succeed("job-2");
        await h.PassAsync();

        Assert.Equal(SlotState.Complete, h.Slot("s1", "align").State);
        Assert.Contains(h.Log.Lines, l => l.Message.StartsWith("Slot is complete: job job-2 succeeded", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OutputsFoundWithNoJobOfTheSlot_CompleteIt_SayingTheyWereFound_NamingNoJob()
    {
        var h = new ReconcilerHarness(OneStep());
        h.MakeOutputs("s1", "align");

        await h.PassAsync();

        Assert.Equal(SlotState.Complete, h.Slot("s1", "align").State);
        var line = Assert.Single(h.Log.Lines, l => l.Message.StartsWith("Slot is complete", StringComparison.Ordinal));
        Assert.Equal(
            (114, "Slot is complete: every output already exists (no job of this slot was seen writing them). [demo/wf.json sample s1 analysis align]"),
            (line.EventId, line.Message));
    }

    [Fact]
    public async Task ManySlotsFoundComplete_AreOneLineWithTheirCount_NotALineEach()
    {
        // A first pass over a finished campaign finds every slot complete: 3,000,000 lines at an institute's scale.
        var names = Enumerable.Range(1, 11).Select(i => $"s{i:D2}").ToArray();
        var h = new ReconcilerHarness(OneStep(), Samples(names));
        foreach (var name in names)
        {
            h.MakeOutputs(name, "align");
        }

        await h.PassAsync();

        Assert.All(names, name => Assert.Equal(SlotState.Complete, h.Slot(name, "align").State));
        var line = Assert.Single(h.Log.Lines, l => l.Message.Contains("are complete", StringComparison.Ordinal) || l.Message.StartsWith("Slot is complete", StringComparison.Ordinal));
        Assert.Equal(
            (116, "11 slots are complete: every output already exists (no job of theirs was seen writing them), the first sample s01 analysis align."),
            (line.EventId, line.Message));
    }

    [Fact]
    public async Task ASuccessfulJob_IsThreeInformationLines_Submitted_Running_Complete()
    {
        var h = new ReconcilerHarness(OneStep());
        await h.PassAsync();
        h.Backend.Job("job-1").Status = JobStatus.Runnable;
        await h.PassAsync();
        h.Backend.SetRunning("job-1");
        await h.PassAsync();
        h.Backend.Succeed("job-1");
        h.MakeOutputs("s1", "align");
        await h.PassAsync();
        await h.PassAsync();

        var info = h.Log.Lines.Where(l => l.Level >= LogLevel.Information && l.Message.Contains("job-1", StringComparison.Ordinal))
            .Select(l => l.Message.Split(" [")[0]).ToArray();
        Assert.True(info.Length == 3, Lines(h));
        Assert.StartsWith("Submitted job job-1 ", info[0], StringComparison.Ordinal);
        Assert.Equal("Job job-1 is RUNNING.", info[1]);
        Assert.Equal("Slot is complete: job job-1 succeeded and every output exists.", info[2]);
        Assert.Contains(h.Log.Lines, l => l is { EventId: 117, Level: LogLevel.Debug } && l.Message.StartsWith("Job job-1 is RUNNABLE.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AJobWhoseDependencyFailed_AndAJobEndedByCancel_AreNotWarnings()
    {
        var h = new ReconcilerHarness();
        await h.PassAsync();
        h.Backend.Fail("job-1", "Command exited", exitCode: 1);
        h.Backend.Fail("job-2", "Dependent Job failed");
        await h.PassAsync();
        h.Clock.Advance(TimeSpan.FromMinutes(5));
        await h.PassAsync(); // attempt 2: job-3, and job-4 after it
        h.Load(TwoSteps.Replace("\"workflow_name\": \"wf\",", "\"workflow_name\": \"wf\", \"cancel\": true,", StringComparison.Ordinal));
        await h.PassAsync(); // terminates both
        Assert.Equal(2, h.Backend.TerminateCalls.Count);

        await h.PassAsync(); // sees them FAILED with batchkeeper's cancel reason

        var warnings = h.Log.Lines.Where(l => l.Level >= LogLevel.Warning).ToArray();
        var failure = Assert.Single(warnings);
        Assert.StartsWith("Job job-1 failed (failed): Command exited; exit code 1. Resubmitting at ", failure.Message, StringComparison.Ordinal);
        Assert.Contains(h.Log.Lines, l => l is { EventId: 119, Level: LogLevel.Debug } && l.Message.StartsWith("Job job-2 did not run", StringComparison.Ordinal));
        Assert.Equal(2, h.Log.Lines.Count(l => l is { EventId: 120, Level: LogLevel.Debug }));
    }
}

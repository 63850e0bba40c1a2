using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Reconciliation;
using Batchkeeper.Core.Snapshots;
using static Batchkeeper.Core.Tests.Reconciliation.ReconcilerHarness;

namespace Batchkeeper.Core.Tests.Reconciliation;

/// <summary>The failure policy: what happens after each kind of failure, and the limits.</summary>
public sealed class WorkflowReconcilerFailureTests
{
    private const string Exited = "Essential container in task exited";
    private const string OutOfMemory = "OutOfMemoryError: Container killed due to memory usage";

    [Fact]
    public async Task Reconcile_GenericFailure_IsResubmittedAfterBackoffUpToMaxAttempts()
    {
        var h = new ReconcilerHarness(OneStep());
        await h.PassAsync();
        h.Backend.Fail("job-1", Exited, exitCode: 1);

        await h.PassAsync();

        var slot = h.Slot("s1", "align");
        Assert.Equal((SlotState.Retrying, FailureClass.Failed, 2, null), (slot.State, slot.FailureClass, slot.Attempt, slot.JobId));
        Assert.Equal(Start + TimeSpan.FromMinutes(1), slot.NextAttemptAt);
        Assert.Equal("Resubmitting at 2026-11-22T10:01:00Z (in 1 min), attempt 2 of 3.", slot.Message);
        Assert.Single(h.Backend.SubmitCalls);

        h.Clock.Advance(TimeSpan.FromSeconds(59));
        await h.PassAsync();
        Assert.Single(h.Backend.SubmitCalls);
        Assert.Equal(SlotState.Retrying, h.Slot("s1", "align").State);

        h.Clock.Advance(TimeSpan.FromSeconds(1));
        await h.PassAsync();
        Assert.Equal(2, h.Backend.SubmitCalls.Count);
        Assert.Equal(("job-2", 2, SlotState.Queued), (h.Slot("s1", "align").JobId, h.Slot("s1", "align").Attempt, h.Slot("s1", "align").State));

        h.Backend.Fail("job-2", Exited, exitCode: 1);
        await h.PassAsync();
        Assert.Equal(Start + TimeSpan.FromMinutes(3), h.Slot("s1", "align").NextAttemptAt); // the backoff doubles

        h.Clock.Advance(TimeSpan.FromMinutes(2));
        await h.PassAsync();
        Assert.Equal(3, h.Backend.SubmitCalls.Count);
        Assert.Equal(3, h.Slot("s1", "align").Attempt);

        h.Backend.Fail("job-3", Exited, exitCode: 1);
        await h.PassAsync();

        slot = h.Slot("s1", "align");
        Assert.Equal((SlotState.FailedPermanently, 3, 3), (slot.State, slot.Attempt, slot.MaxAttempts));
        Assert.Equal("failed on all 3 attempts; last: Essential container in task exited; exit code 1", slot.Message);

        var lists = h.Backend.ListCalls.Count;
        h.Clock.Advance(TimeSpan.FromDays(1));
        await h.PassAsync();
        Assert.Equal(3, h.Backend.SubmitCalls.Count);
        Assert.Equal(lists, h.Backend.ListCalls.Count);
        Assert.Equal(1, h.Snapshot!.Summary.Failed);
    }

    [Fact]
    public async Task Reconcile_MaxAttemptsFromTheWorkflow_OverridesTheDefault()
    {
        var h = new ReconcilerHarness(OneStep("\"retry\": { \"max_attempts\": 1 }"));
        await h.PassAsync();
        h.Backend.Fail("job-1", Exited, exitCode: 2);

        await h.PassAsync();

        Assert.Equal(SlotState.FailedPermanently, h.Slot("s1", "align").State);
        Assert.Equal("failed on all 1 attempts; last: Essential container in task exited; exit code 2", h.Slot("s1", "align").Message);
    }

    [Fact]
    public async Task Reconcile_Timeout_IsTimedOut_ResubmittedAfterBackoffWithTheSameMemory_NotTakenForOutOfMemory()
    {
        var h = new ReconcilerHarness(OneStep("""
            "containerOverrides": { "memory": 1000 }, "retry": { "max_attempts": 2, "memory_factor": 1.5 }
            """));
        await h.PassAsync();
        h.Backend.Fail("job-1", "Job attempt duration exceeded timeout", exitCode: 137);

        await h.PassAsync();

        var slot = h.Slot("s1", "align");
        Assert.Equal((SlotState.Retrying, FailureClass.TimedOut, 2, 1000), (slot.State, slot.FailureClass, slot.Attempt, slot.Memory));
        Assert.StartsWith("Timed out: resubmitting with the same memory at", slot.Message, StringComparison.Ordinal);
        h.Clock.Advance(TimeSpan.FromMinutes(1));
        await h.PassAsync();
        Assert.Equal([1000, 1000], h.Backend.SubmitCalls.Select(s => s.Job.MemoryMiB));

        h.Backend.Fail("job-2", "Job attempt duration exceeded timeout", exitCode: 137);
        await h.PassAsync();
        slot = h.Slot("s1", "align");
        Assert.Equal((SlotState.FailedPermanently, FailureClass.TimedOut), (slot.State, slot.FailureClass));
        Assert.StartsWith("timed out on all 2 attempts; last: Job attempt duration exceeded timeout", slot.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reconcile_OutOfMemory_IsResubmittedAtOnceWithMoreMemoryCappedAtMaxMemory()
    {
        var h = new ReconcilerHarness(OneStep("""
            "containerOverrides": { "memory": 1000 }, "retry": { "max_attempts": 5, "memory_factor": 1.5, "max_memory": 2000 }
            """));
        await h.PassAsync();

        h.Backend.Fail("job-1", Exited, OutOfMemory, 137);
        await h.PassAsync();
        var slot = h.Slot("s1", "align");
        Assert.Equal(("job-2", 2, 1500, SlotState.Queued), (slot.JobId, slot.Attempt, slot.Memory, slot.State));

        h.Backend.Fail("job-2", Exited, OutOfMemory, 137);
        await h.PassAsync();
        Assert.Equal(("job-3", 3, 2000), (h.Slot("s1", "align").JobId, h.Slot("s1", "align").Attempt, h.Slot("s1", "align").Memory));

        h.Backend.Fail("job-3", Exited, OutOfMemory, 137);
        await h.PassAsync();

        slot = h.Slot("s1", "align");
        Assert.Equal((SlotState.FailedPermanently, FailureClass.OutOfMemory), (slot.State, slot.FailureClass));
        Assert.Equal($"out of memory at max_memory (2000 MiB): {Exited}; {OutOfMemory}; exit code 137", slot.Message);
        Assert.Equal([1000, 1500, 2000], h.Backend.SubmitCalls.Select(s => s.Job.MemoryMiB));
        Assert.Equal(Start, h.Backend.Jobs[^1].CreatedAt); // no backoff
    }

    [Fact]
    public async Task Reconcile_OutOfMemoryOnEveryAttempt_FailsPermanently()
    {
        var h = new ReconcilerHarness(OneStep("\"containerOverrides\": { \"memory\": 1000 }, \"retry\": { \"max_attempts\": 2 }"));
        await h.PassAsync();
        h.Backend.Fail("job-1", null, OutOfMemory);
        await h.PassAsync();
        h.Backend.Fail("job-2", null, OutOfMemory);

        await h.PassAsync();

        var slot = h.Slot("s1", "align");
        Assert.Equal(SlotState.FailedPermanently, slot.State);
        Assert.Equal($"out of memory on all 2 attempts: {OutOfMemory}", slot.Message);
        Assert.Equal([1000, 1500], h.Backend.SubmitCalls.Select(s => s.Job.MemoryMiB));
    }

    [Fact]
    public async Task Reconcile_OutOfMemory_RaisesTheMemoryTheJobActuallyRanWith()
    {
        // No memory in the workflow: the job definition's 4000 MiB, as Batch reports it, is raised.
        var h = new ReconcilerHarness(OneStep("\"description\": \"no override\""));
        await h.PassAsync();
        Assert.Null(h.Backend.SubmitCalls[0].Job.MemoryMiB);
        h.Backend.Fail("job-1", Exited, exitCode: 137, memoryMiB: 4000);

        await h.PassAsync();

        Assert.Equal(6000, h.Backend.SubmitCalls[^1].Job.MemoryMiB);
        Assert.Equal(FailureClass.OutOfMemory, h.Slot("s1", "align").FailureClass);
    }

    [Fact]
    public async Task Reconcile_Interruption_IsResubmittedWithoutUsingAnAttemptUpToMaxInterruptions()
    {
        var h = new ReconcilerHarness(OneStep());
        await h.PassAsync();

        h.Backend.Fail("job-1", "Your Spot Task was interrupted.");
        await h.PassAsync();
        var slot = h.Slot("s1", "align");
        Assert.Equal(("job-2", 1, 1, FailureClass.Interrupted), (slot.JobId, slot.Attempt, slot.Interruptions, slot.FailureClass));

        h.Backend.Fail("job-2", "Host EC2 (instance i-0abc123) terminated.", exitCode: 137);
        await h.PassAsync();
        slot = h.Slot("s1", "align");
        Assert.Equal(("job-3", 1, 2), (slot.JobId, slot.Attempt, slot.Interruptions));

        h.Backend.Fail("job-3", "Your Spot Task was interrupted.");
        await h.PassAsync();

        slot = h.Slot("s1", "align");
        Assert.Equal(SlotState.FailedPermanently, slot.State);
        Assert.Equal("interrupted 3 times, more than the cap of 2: Your Spot Task was interrupted.", slot.Message);
        Assert.Equal([1000, 1000, 1000], h.Backend.SubmitCalls.Select(s => s.Job.MemoryMiB));
        Assert.All(h.Backend.Jobs, j => Assert.Equal(Start, j.CreatedAt));
    }

    [Fact]
    public async Task Reconcile_Misconfigured_IsNeverResubmittedAndBlocksItsDownstream()
    {
        var h = new ReconcilerHarness();
        await h.PassAsync();
        h.Backend.Fail("job-1", "Task failed to start", "CannotPullContainerError: pull access denied for align");
        h.Backend.Fail("job-2", "Dependent Job failed");

        await h.PassAsync();

        var align = h.Slot("s1", "align");
        Assert.Equal((SlotState.FailedPermanently, FailureClass.Misconfigured), (align.State, align.FailureClass));
        Assert.Equal(
            "misconfigured, not retried (fix the job definition, queue or image, then edit the workflow or run 'batchkeeper retry'): "
            + "Task failed to start; CannotPullContainerError: pull access denied for align",
            align.Message);
        Assert.Equal(SlotState.Blocked, h.Slot("s1", "call").State);
        Assert.Equal("blocked: analysis 'align' is failed permanently", h.Slot("s1", "call").Message);

        h.Clock.Advance(TimeSpan.FromDays(1));
        await h.PassAsync();

        Assert.Equal(2, h.Backend.SubmitCalls.Count);
        Assert.Single(h.Backend.ListCalls);
        Assert.Equal((1, 1), (h.Snapshot!.Summary.Failed, h.Snapshot.Summary.Blocked));
    }

    [Fact]
    public async Task Reconcile_SucceededWithoutOutputs_IsVerifyingWithinTheGracePeriodThenAFailure()
    {
        var h = new ReconcilerHarness(OneStep());
        await h.PassAsync();
        h.Backend.Succeed("job-1");

        h.Clock.Advance(TimeSpan.FromSeconds(59));
        await h.PassAsync();

        var slot = h.Slot("s1", "align");
        Assert.Equal((SlotState.Verifying, "job-1", "SUCCEEDED"), (slot.State, slot.JobId, slot.BatchStatus));
        Assert.Equal("job succeeded; waiting up to 00:01:00 for its outputs to appear", slot.Message);
        Assert.Equal(1, h.Snapshot!.Summary.Running);

        h.Clock.Advance(TimeSpan.FromSeconds(1));
        await h.PassAsync();

        slot = h.Slot("s1", "align");
        Assert.Equal((SlotState.Retrying, FailureClass.SucceededWithoutOutputs, 2), (slot.State, slot.FailureClass, slot.Attempt));
        Assert.Equal(Start + TimeSpan.FromMinutes(2), slot.NextAttemptAt);
        Assert.Equal(FailureClass.SucceededWithoutOutputs, Assert.Single(slot.History).FailureClass);
        Assert.Single(h.Backend.SubmitCalls);

        h.Clock.Advance(TimeSpan.FromMinutes(1));
        await h.PassAsync();
        Assert.Equal(("job-2", 2), (h.Slot("s1", "align").JobId, h.Slot("s1", "align").Attempt));
    }

    [Fact]
    public async Task Reconcile_SucceededAndOutputsAppearWithinTheGracePeriod_IsComplete()
    {
        var h = new ReconcilerHarness(OneStep(), options: new ReconcilerOptions { SubmitParallelism = 1, OutputGracePeriod = TimeSpan.FromMinutes(5) });
        await h.PassAsync();
        h.Backend.Succeed("job-1");
        h.Clock.Advance(TimeSpan.FromMinutes(4));
        await h.PassAsync();
        Assert.Equal(SlotState.Verifying, h.Slot("s1", "align").State);

        h.MakeOutputs("s1", "align");
        h.Clock.Advance(TimeSpan.FromMinutes(4));
        await h.PassAsync();

        Assert.Equal(SlotState.Complete, h.Slot("s1", "align").State);
        Assert.Null(h.Slot("s1", "align").FailureClass);
        Assert.Single(h.Backend.SubmitCalls);
    }

    [Fact]
    public async Task Reconcile_SpecChange_StartsAFreshRecordWithAFreshBudget()
    {
        var h = new ReconcilerHarness(OneStep("\"parameters\": { \"x\": \"1\" }, \"retry\": { \"max_attempts\": 2 }"));
        await h.PassAsync();
        var oldName = h.JobName("s1", "align");
        h.Backend.Fail("job-1", Exited, exitCode: 1);
        await h.PassAsync();
        Assert.Equal((SlotState.Retrying, 2), (h.Slot("s1", "align").State, h.Slot("s1", "align").Attempt));

        h.Load(OneStep("\"parameters\": { \"x\": \"2\" }, \"retry\": { \"max_attempts\": 2 }"));
        await h.PassAsync();

        var slot = h.Slot("s1", "align");
        Assert.NotEqual(oldName, slot.JobName);
        Assert.Equal(h.JobName("s1", "align"), slot.JobName);
        Assert.Equal(("job-2", 1, SlotState.Queued, null), (slot.JobId, slot.Attempt, slot.State, slot.FailureClass));
        Assert.Equal("job-2", Assert.Single(slot.History).JobId);
        Assert.Equal("2", h.Backend.SubmitCalls[^1].Job.Parameters["x"]);

        h.Backend.Fail("job-2", Exited, exitCode: 1);
        await h.PassAsync();
        Assert.Equal(SlotState.Retrying, h.Slot("s1", "align").State);
    }

    [Fact]
    public async Task Reconcile_RejectedSubmission_FailsTheSlotPermanentlyWithTheMessage()
    {
        var h = new ReconcilerHarness();
        h.Backend.RejectSubmissions(s => s.Context.Analysis == "align", "JobQueue q1 not found");

        await h.PassAsync();

        var align = h.Slot("s1", "align");
        Assert.Equal((SlotState.FailedPermanently, FailureClass.Misconfigured, null), (align.State, align.FailureClass, align.JobId));
        Assert.Equal(
            "misconfigured: the backend rejected the submission (fix it, then edit the workflow or run 'batchkeeper retry'): JobQueue q1 not found",
            align.Message);
        Assert.Equal("JobQueue q1 not found", align.StatusReason);
        Assert.Equal(SlotState.Blocked, h.Slot("s1", "call").State);
        Assert.Single(h.Backend.SubmitCalls);
        Assert.Empty(h.Backend.Jobs);
        Assert.Empty(h.Snapshot!.Errors);

        await h.PassAsync();
        Assert.Single(h.Backend.SubmitCalls);
    }

    [Fact]
    public async Task Reconcile_TransientSubmitError_StopsSubmittingForThePassAndAddsAnError()
    {
        var h = new ReconcilerHarness(samples: Samples("s1", "s2"));
        h.Backend.FailSubmissions(s => s.Context.Sample == "s1" && s.Context.Analysis == "align", _ => new HttpRequestException("Rate exceeded"));

        var snapshot = await h.PassAsync();

        Assert.Single(h.Backend.SubmitCalls);
        Assert.Empty(h.Backend.Jobs);
        var error = Assert.Single(snapshot.Errors);
        Assert.Equal($"submitting {h.JobName("s1", "align")} failed: Rate exceeded", error.Message);
        Assert.Equal(Start, error.At);
        var align = h.Slot("s1", "align");
        Assert.Equal((SlotState.Waiting, null, 0), (align.State, align.JobId, align.Attempt));
        Assert.Equal("submission failed, will try again next pass: Rate exceeded", align.Message);
        Assert.Equal(SlotState.Waiting, h.Slot("s2", "align").State);

        h.Backend.ClearSubmitFailures();
        snapshot = await h.PassAsync();

        Assert.Empty(snapshot.Errors);
        Assert.Equal([("s1", "align", ""), ("s1", "call", "job-1"), ("s2", "align", ""), ("s2", "call", "job-3")], h.Submitted().Skip(1));
    }

    [Fact]
    public async Task Reconcile_JobUnknownToTheBackend_IsTakenAsInterruptedOnlyAfterLostJobAfter()
    {
        var h = new ReconcilerHarness(OneStep());
        await h.PassAsync();
        h.Backend.Hide("job-1");

        h.Clock.Advance(TimeSpan.FromMinutes(10));
        await h.PassAsync();
        Assert.Equal(("job-1", SlotState.Queued), (h.Slot("s1", "align").JobId, h.Slot("s1", "align").State));
        Assert.Single(h.Backend.SubmitCalls);

        h.Clock.Advance(TimeSpan.FromSeconds(1));
        await h.PassAsync();

        var slot = h.Slot("s1", "align");
        Assert.Equal(("job-2", 1, 1), (slot.JobId, slot.Attempt, slot.Interruptions));
        var lost = slot.History[0];
        Assert.Equal((FailureClass.Interrupted, "FAILED"), (lost.FailureClass, lost.Status));
        Assert.Equal("Host interrupted: the backend no longer knows job job-1", lost.StatusReason);
    }

    [Fact]
    public async Task Reconcile_History_ListsEveryAttemptWithClassReasonExitCodeAndMemory()
    {
        var h = new ReconcilerHarness(OneStep("\"containerOverrides\": { \"memory\": 1000 }, \"retry\": { \"max_attempts\": 5 }"));
        await h.PassAsync();
        h.Backend.Fail("job-1", null, OutOfMemory, 137);
        await h.PassAsync();
        h.Backend.Fail("job-2", Exited, exitCode: 1);
        await h.PassAsync();
        h.Clock.Advance(TimeSpan.FromMinutes(2));
        await h.PassAsync();
        h.Backend.SetRunning("job-3");
        h.Backend.Job("job-3").LogStream = "align/default/abc";

        await h.PassAsync();

        var history = h.Slot("s1", "align").History;
        Assert.Equal(
            [
                ("job-1", 1, "FAILED", (FailureClass?)FailureClass.OutOfMemory, OutOfMemory, (int?)137, (int?)1000, true),
                ("job-2", 2, "FAILED", FailureClass.Failed, Exited, 1, 1500, true),
                ("job-3", 3, "RUNNING", null, null, null, 1500, false),
            ],
            history.Select(a => (a.JobId, a.Attempt, a.Status, a.FailureClass, a.StatusReason ?? a.ContainerReason, a.ExitCode, a.Memory, a.Settled)));
        Assert.Equal(OutOfMemory, history[0].ContainerReason);
        Assert.Equal([Start, Start, Start + TimeSpan.FromMinutes(2)], history.Select(a => a.SubmittedAt));
        Assert.Equal("align/default/abc", history[2].LogStream);
        Assert.Equal(Start + TimeSpan.FromMinutes(2), history[2].StartedAt);
        Assert.Equal(Start, history[0].StoppedAt);
    }

    [Fact]
    public async Task Reconcile_DownstreamDependencyFailure_IsNotCountedAgainstItsAttempts()
    {
        var h = new ReconcilerHarness(ReconcilerHarness.TwoSteps.Replace("\"call:1\",", "\"call:1\", \"retry\": { \"max_attempts\": 1 },", StringComparison.Ordinal));
        await h.PassAsync();
        for (var round = 0; round < 2; round++)
        {
            // Upstream is interrupted (resubmitted at once); Batch fails the downstream job it was waiting for.
            h.Backend.Fail(h.Slot("s1", "align").JobId!, "Your Spot Task was interrupted.");
            h.Backend.Fail(h.Slot("s1", "call").JobId!, "Dependent Job failed");
            await h.PassAsync();
        }

        var call = h.Slot("s1", "call");
        Assert.Equal((SlotState.Queued, 1, "job-6"), (call.State, call.Attempt, call.JobId));
        Assert.Equal([("s1", "call", "job-5")], h.Submitted().Where(s => s.Analysis == "call").Skip(2));
        Assert.Equal(3, call.History.Count);
    }
}

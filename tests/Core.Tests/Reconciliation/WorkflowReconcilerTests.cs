using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Reconciliation;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Core.Workflows;
using static Batchkeeper.Core.Tests.Reconciliation.ReconcilerHarness;

namespace Batchkeeper.Core.Tests.Reconciliation;

/// <summary>Chain order, idempotence, adoption after a crash, cancellation and the snapshot's shape.</summary>
public sealed class WorkflowReconcilerTests
{
    [Fact]
    public async Task Reconcile_WhenOutputsExist_SubmitsNothing()
    {
        var h = new ReconcilerHarness();
        h.MakeOutputs("s1", "align");
        h.MakeOutputs("s1", "call");

        var snapshot = await h.PassAsync();

        Assert.Empty(h.Backend.SubmitCalls);
        Assert.Empty(h.Backend.DescribeCalls);
        Assert.Empty(h.Backend.ListCalls);
        Assert.All(snapshot.Slots, s => Assert.Equal(SlotState.Complete, s.State));
        Assert.All(snapshot.Slots, s => Assert.True(Assert.Single(s.Outputs).Exists));
        Assert.Equal(2, snapshot.Summary.Complete);
        Assert.Equal(2, snapshot.Summary.Total);
    }

    [Fact]
    public async Task Reconcile_ChecksEveryOutputInOneBatchedCall()
    {
        var h = new ReconcilerHarness(samples: Samples("s1", "s2"));

        await h.PassAsync();

        Assert.Equal(1, h.Outputs.Calls);
        Assert.Equal(["s3://bucket/s1.bam", "s3://bucket/s1.vcf", "s3://bucket/s2.bam", "s3://bucket/s2.vcf"], h.Outputs.Queries[0]);
    }

    [Fact]
    public async Task Reconcile_FirstPass_SubmitsTheChainInOrderWithDependsOnThePreviousJob()
    {
        var h = new ReconcilerHarness();

        await h.PassAsync();

        Assert.Equal([("s1", "align", ""), ("s1", "call", "job-1")], h.Submitted());
        var align = h.Slot("s1", "align");
        Assert.Equal(("job-1", SlotState.Queued, "SUBMITTED", 1), (align.JobId, align.State, align.BatchStatus, align.Attempt));
        Assert.Equal(Start, align.SubmittedAt);
        var call = h.Slot("s1", "call");
        Assert.Equal(("job-2", SlotState.Queued, 1), (call.JobId, call.State, call.Attempt));
        Assert.Equal("depends on job job-1", call.Message);
    }

    [Fact]
    public async Task Reconcile_Submission_CarriesTheExpandedSpecAndTheSlotsContext()
    {
        var h = new ReconcilerHarness(OneStep("""
            "parameters": { "try": "{attempt}", "in": "{file_name}" }, "command": ["run", "{sample_name}", "--try={attempt}"],
            "environment": { "TRY": "{attempt}" }, "tags": { "p": "{project_name}" },
            "containerOverrides": { "vcpus": 2, "memory": 1000 }, "timeout_seconds": 600
            """));

        await h.PassAsync();

        var submission = Assert.Single(h.Backend.SubmitCalls);
        Assert.Equal(h.JobName("s1", "align"), submission.JobName);
        Assert.Equal(("q1", "align:1"), (submission.Job.Queue, submission.Job.JobDefinition));
        Assert.Equal("1", submission.Job.Parameters["try"]);
        Assert.Equal("s1.fq", submission.Job.Parameters["in"]);
        Assert.Equal(["run", "s1", "--try=1"], submission.Job.Command);
        Assert.Equal("1", submission.Job.Environment["TRY"]);
        Assert.Equal("s3://bucket/s1.bam", submission.Job.Environment[WorkflowPlanner.OutputsVariable]);
        Assert.Equal("demo", submission.Job.Tags["p"]);
        Assert.Equal((2, 1000, 600), (submission.Job.Vcpus, submission.Job.MemoryMiB, submission.Job.TimeoutSeconds));
        Assert.Empty(submission.DependsOn);
        Assert.Equal("/projects/demo", submission.WorkingDirectory);
        Assert.Equal(new JobContext("demo", "wf", "s1", "align", Path.Combine("/projects/demo", "wf.json")), submission.Context);
    }

    [Fact]
    public async Task Reconcile_WhenTheFirstAnalysisIsComplete_SubmitsTheNextWithoutDependsOn()
    {
        var h = new ReconcilerHarness();
        h.MakeOutputs("s1", "align");

        await h.PassAsync();

        Assert.Equal([("s1", "call", "")], h.Submitted());
        Assert.Null(h.Slot("s1", "call").Message);
    }

    [Fact]
    public async Task Reconcile_SeveralSamples_SubmitsSampleBySampleEachInChainOrder()
    {
        var h = new ReconcilerHarness(samples: Samples("s1", "s2"));

        await h.PassAsync();

        Assert.Equal([("s1", "align", ""), ("s1", "call", "job-1"), ("s2", "align", ""), ("s2", "call", "job-3")], h.Submitted());
    }

    [Fact]
    public async Task Reconcile_WithParallelSubmission_EveryDownstreamDependsOnItsOwnUpstream()
    {
        var names = Enumerable.Range(1, 12).Select(i => $"s{i}").ToArray();
        var h = new ReconcilerHarness(samples: Samples(names), options: new ReconcilerOptions { SubmitParallelism = 4 });

        await h.PassAsync();

        var jobs = h.Backend.Jobs;
        Assert.Equal(24, jobs.Count);
        Assert.Equal(24, jobs.Select(j => j.JobName).Distinct().Count());
        foreach (var name in names)
        {
            var align = Assert.Single(jobs, j => j.Submission.Context.Sample == name && j.Submission.Context.Analysis == "align");
            var call = Assert.Single(jobs, j => j.Submission.Context.Sample == name && j.Submission.Context.Analysis == "call");
            Assert.Empty(align.Submission.DependsOn);
            Assert.Equal([align.JobId], call.Submission.DependsOn);
            Assert.Equal(align.JobId, h.Slot(name, "align").JobId);
            Assert.Equal(call.JobId, h.Slot(name, "call").JobId);
        }
    }

    [Fact]
    public async Task Reconcile_SecondPassWithTheReturnedSnapshot_SubmitsNothingAgain()
    {
        var h = new ReconcilerHarness();
        await h.PassAsync();

        await h.PassAsync();

        Assert.Equal(2, h.Backend.SubmitCalls.Count);
        Assert.Equal(["job-1", "job-2"], Assert.Single(h.Backend.DescribeCalls));
        Assert.Equal("job-1", h.Slot("s1", "align").JobId);
        Assert.Equal("job-2", h.Slot("s1", "call").JobId);
        Assert.Single(h.Slot("s1", "align").History);
    }

    [Fact]
    public async Task Reconcile_InASteadyPass_DoesNotListJobs()
    {
        var h = new ReconcilerHarness();
        await h.PassAsync();
        Assert.Equal([("q1", "bk-wf-")], h.Backend.ListCalls);
        h.Backend.SetRunning("job-1");

        await h.PassAsync();
        await h.PassAsync();

        Assert.Single(h.Backend.ListCalls);
        Assert.Equal(SlotState.Running, h.Slot("s1", "align").State);
        Assert.Equal("RUNNING", h.Slot("s1", "align").BatchStatus);
        Assert.Equal(SlotState.Queued, h.Slot("s1", "call").State);
    }

    [Fact]
    public async Task Reconcile_ListsJobsOncePerQueue()
    {
        var h = new ReconcilerHarness(ReconcilerHarness.TwoSteps.Replace("\"call:1\", \"queue\": \"q1\"", "\"call:1\", \"queue\": \"q2\"", StringComparison.Ordinal),
            Samples("s1", "s2", "s3"));

        await h.PassAsync();

        Assert.Equal([("q1", "bk-wf-"), ("q2", "bk-wf-")], h.Backend.ListCalls);
        Assert.Equal(6, h.Backend.SubmitCalls.Count);
    }

    [Fact]
    public async Task Reconcile_DescribesACompletedSlotOnceForItsFinalState_ThenNever()
    {
        var h = new ReconcilerHarness();
        await h.PassAsync();
        h.Backend.Succeed("job-1");
        h.Backend.Job("job-1").LogStream = "align/default/1";
        h.MakeOutputs("s1", "align");

        await h.PassAsync();

        // job-1 was last seen SUBMITTED: one more look records how it ended.
        Assert.Equal(["job-1", "job-2"], Assert.Single(h.Backend.DescribeCalls).Order());
        var align = h.Slot("s1", "align");
        Assert.Equal(SlotState.Complete, align.State);
        Assert.Equal(("SUCCEEDED", "align/default/1"), (align.BatchStatus, align.LogStream));

        h.Backend.Succeed("job-2");
        h.MakeOutputs("s1", "call");
        await h.PassAsync();
        Assert.Equal(["job-2"], h.Backend.DescribeCalls[1]);

        await h.PassAsync();
        await h.PassAsync();
        Assert.Equal(2, h.Backend.DescribeCalls.Count);
    }

    [Fact]
    public async Task Reconcile_AfterACrashRightAfterSubmitting_AdoptsTheJobsInsteadOfSubmittingAgain()
    {
        var h = new ReconcilerHarness();
        await h.PassAsync();
        h.Snapshot = null; // the daemon died before writing the snapshot
        h.Backend.SetRunning("job-1");

        await h.PassAsync();

        Assert.Equal(2, h.Backend.SubmitCalls.Count);
        Assert.Equal(("q1", "bk-wf-"), h.Backend.ListCalls[^1]);
        var align = h.Slot("s1", "align");
        Assert.Equal(("job-1", SlotState.Running, 1), (align.JobId, align.State, align.Attempt));
        Assert.Equal("job-1", Assert.Single(align.History).JobId);
        var call = h.Slot("s1", "call");
        Assert.Equal(("job-2", SlotState.Queued), (call.JobId, call.State));
        Assert.Equal("job-2", Assert.Single(call.History).JobId);
    }

    [Fact]
    public async Task Reconcile_AfterACrashWithAnOlderSnapshot_AdoptsTheResubmittedJob()
    {
        var h = new ReconcilerHarness(OneStep());
        await h.PassAsync();
        h.Backend.Fail("job-1", "Essential container in task exited", exitCode: 1);
        await h.PassAsync();
        var onDisk = Copy(h.Snapshot!);
        Assert.Equal(SlotState.Retrying, onDisk.Slots[0].State);
        h.Clock.Advance(TimeSpan.FromMinutes(1));
        await h.PassAsync();
        Assert.Equal(2, h.Backend.SubmitCalls.Count);

        h.Snapshot = onDisk; // the pass that submitted job-2 never wrote its snapshot
        await h.PassAsync();

        Assert.Equal(2, h.Backend.SubmitCalls.Count);
        var slot = h.Slot("s1", "align");
        Assert.Equal(("job-2", SlotState.Queued, 2), (slot.JobId, slot.State, slot.Attempt));
        Assert.Equal(["job-1", "job-2"], slot.History.Select(a => a.JobId));
    }

    [Fact]
    public async Task Reconcile_AfterACrash_AdoptsTheJobsOfAWorkflowWithAVeryLongName()
    {
        var name = new string('w', 120);
        var h = new ReconcilerHarness(ReconcilerHarness.TwoSteps.Replace("\"wf\"", $"\"{name}\"", StringComparison.Ordinal));
        await h.PassAsync();
        h.Snapshot = null;

        await h.PassAsync();

        Assert.Equal(2, h.Backend.SubmitCalls.Count);
        Assert.Equal("job-1", h.Slot("s1", "align").JobId);
        Assert.Equal("job-2", h.Slot("s1", "call").JobId);
    }

    [Fact]
    public async Task Reconcile_WhenUpstreamIsInBackoff_DownstreamWaitsThenFollowsItWithoutUsingAnAttempt()
    {
        var h = new ReconcilerHarness();
        await h.PassAsync();
        h.Backend.Fail("job-1", "Essential container in task exited", exitCode: 1);
        h.Backend.Fail("job-2", "Dependent Job failed");

        await h.PassAsync();

        var call = h.Slot("s1", "call");
        Assert.Equal(SlotState.Retrying, h.Slot("s1", "align").State);
        Assert.Equal(Start + TimeSpan.FromMinutes(1), h.Slot("s1", "align").NextAttemptAt);
        Assert.Equal((SlotState.Waiting, FailureClass.Blocked, 1, null), (call.State, call.FailureClass, call.Attempt, call.JobId));
        Assert.Equal("waiting for analysis 'align' (retrying)", call.Message);
        Assert.Equal(2, h.Backend.SubmitCalls.Count);

        h.Clock.Advance(TimeSpan.FromSeconds(59));
        await h.PassAsync();
        Assert.Equal(2, h.Backend.SubmitCalls.Count);

        h.Clock.Advance(TimeSpan.FromSeconds(1));
        await h.PassAsync();

        Assert.Equal([("s1", "align", ""), ("s1", "call", "job-1"), ("s1", "align", ""), ("s1", "call", "job-3")], h.Submitted());
        Assert.Equal(("job-3", 2), (h.Slot("s1", "align").JobId, h.Slot("s1", "align").Attempt));
        call = h.Slot("s1", "call");
        Assert.Equal(("job-4", 1, SlotState.Queued), (call.JobId, call.Attempt, call.State));
        Assert.Equal([(FailureClass?)FailureClass.Blocked, null], call.History.Select(a => a.FailureClass));
    }

    [Fact]
    public async Task Reconcile_WhenUpstreamIsVerifying_DownstreamWaitsUntilItIsComplete()
    {
        var h = new ReconcilerHarness();
        h.Backend.FailSubmissions(s => s.Context.Analysis == "call", _ => new TimeoutException("Rate exceeded"));
        await h.PassAsync();
        Assert.Equal(["align"], h.Backend.Jobs.Select(j => j.Submission.Context.Analysis));
        h.Backend.ClearSubmitFailures();
        h.Backend.Succeed("job-1");

        h.Clock.Advance(TimeSpan.FromSeconds(10));
        await h.PassAsync();

        Assert.Equal(SlotState.Verifying, h.Slot("s1", "align").State);
        Assert.Equal(SlotState.Waiting, h.Slot("s1", "call").State);
        Assert.Equal("waiting for analysis 'align' (verifying)", h.Slot("s1", "call").Message);
        Assert.Single(h.Backend.Jobs);

        h.MakeOutputs("s1", "align");
        await h.PassAsync();

        Assert.Equal(SlotState.Complete, h.Slot("s1", "align").State);
        Assert.Equal(("s1", "call", ""), h.Submitted()[^1]);
        Assert.Equal("job-2", h.Slot("s1", "call").JobId);
    }

    [Fact]
    public async Task Reconcile_WhenUpstreamIsInvalid_DownstreamIsBlockedAndNothingIsSubmitted()
    {
        var h = new ReconcilerHarness(ReconcilerHarness.TwoSteps.Replace("{sample_name}.bam", "{nope}.bam", StringComparison.Ordinal));

        var snapshot = await h.PassAsync();

        var align = h.Slot("s1", "align");
        Assert.Equal(SlotState.Invalid, align.State);
        Assert.StartsWith("wf.json: analyses[0].outputs[0]: unknown placeholder {nope}", align.Message, StringComparison.Ordinal);
        Assert.Equal(SlotState.Blocked, h.Slot("s1", "call").State);
        Assert.Equal("blocked: analysis 'align' is invalid", h.Slot("s1", "call").Message);
        Assert.Empty(h.Backend.SubmitCalls);
        Assert.Empty(h.Backend.ListCalls);
        Assert.Equal((1, 1), (snapshot.Summary.Invalid, snapshot.Summary.Blocked));
    }

    [Fact]
    public async Task Reconcile_WhenAnOutputOfACompleteSlotDisappears_RunsTheSlotAgain()
    {
        var h = new ReconcilerHarness(OneStep());
        h.MakeOutputs("s1", "align");
        await h.PassAsync();
        Assert.Empty(h.Backend.SubmitCalls);

        h.Outputs.Remove("s3://bucket/s1.bam");
        await h.PassAsync();

        var slot = h.Slot("s1", "align");
        Assert.Equal(("job-1", SlotState.Queued, 1), (slot.JobId, slot.State, slot.Attempt));
        Assert.False(Assert.Single(slot.Outputs).Exists);
    }

    [Fact]
    public async Task Reconcile_Cancel_TerminatesActiveJobsAndSubmitsNothing()
    {
        var h = new ReconcilerHarness(samples: Samples("s1", "s2", "s3"));
        h.MakeOutputs("s2", "align");
        h.MakeOutputs("s2", "call");
        await h.PassAsync();
        Assert.Equal(["s1", "s1", "s3", "s3"], h.Backend.Jobs.Select(j => j.Submission.Context.Sample));
        h.Backend.SetRunning("job-1");
        h.Backend.Fail("job-3", "Essential container in task exited", exitCode: 1);
        h.Backend.Fail("job-4", "Dependent Job failed");
        h.Load(ReconcilerHarness.TwoSteps.Replace("\"workflow_name\": \"wf\",", "\"workflow_name\": \"wf\", \"cancel\": true,", StringComparison.Ordinal));

        var snapshot = await h.PassAsync();

        const string reason = "Cancelled by batchkeeper: cancel is true in wf.json";
        Assert.Equal([("job-1", reason), ("job-2", reason)], h.Backend.TerminateCalls);
        Assert.StartsWith(FailureClassifier.CancelledReasonPrefix, h.Backend.TerminateCalls[0].Reason, StringComparison.Ordinal);
        Assert.Equal(4, h.Backend.SubmitCalls.Count);
        Assert.Single(h.Backend.ListCalls);
        Assert.True(snapshot.Cancel);
        foreach (var (sample, analysis) in new[] { ("s1", "align"), ("s1", "call"), ("s3", "align"), ("s3", "call") })
        {
            Assert.Equal(SlotState.Cancelled, h.Slot(sample, analysis).State);
            Assert.Equal("cancelled: cancel is true in wf.json", h.Slot(sample, analysis).Message);
        }

        Assert.Equal(SlotState.Complete, h.Slot("s2", "align").State);
        Assert.Equal((4, 2), (snapshot.Summary.Cancelled, snapshot.Summary.Complete));

        h.Clock.Advance(TimeSpan.FromHours(1));
        await h.PassAsync();

        Assert.Equal(2, h.Backend.TerminateCalls.Count);
        Assert.Equal(4, h.Backend.SubmitCalls.Count);
        Assert.Equal((SlotState.Cancelled, FailureClass.Cancelled, null), (h.Slot("s1", "align").State, h.Slot("s1", "align").FailureClass, h.Slot("s1", "align").JobId));
    }

    [Fact]
    public async Task Reconcile_WhenCancelIsWithdrawn_SubmitsTheChainAgain()
    {
        var h = new ReconcilerHarness();
        await h.PassAsync();
        h.Load(ReconcilerHarness.TwoSteps.Replace("\"workflow_name\": \"wf\",", "\"workflow_name\": \"wf\", \"cancel\": true,", StringComparison.Ordinal));
        await h.PassAsync();
        Assert.Equal(2, h.Backend.TerminateCalls.Count);

        h.Load(ReconcilerHarness.TwoSteps);
        await h.PassAsync();

        Assert.Equal([("s1", "align", ""), ("s1", "call", "job-1"), ("s1", "align", ""), ("s1", "call", "job-3")], h.Submitted());
        Assert.Equal((SlotState.Queued, "job-3"), (h.Slot("s1", "align").State, h.Slot("s1", "align").JobId));
        Assert.Equal(FailureClass.Cancelled, h.Slot("s1", "align").History[0].FailureClass);
        Assert.Equal(2, h.Backend.TerminateCalls.Count);
    }

    [Fact]
    public async Task Reconcile_Summary_CountsEveryStateAndAddsUp()
    {
        var samples = Samples("s1", "s2", "s3", "s4").Append(new Sample("s5", new Dictionary<string, string> { ["sample_name"] = "s5" })).ToArray();
        var workflow = ReconcilerHarness.TwoSteps.Replace("\"align:1\",", "\"align:1\", \"parameters\": { \"in\": \"{file_name}\" },", StringComparison.Ordinal);
        var h = new ReconcilerHarness(workflow, samples);
        h.MakeOutputs("s1", "align");
        h.MakeOutputs("s1", "call");
        await h.PassAsync();
        Assert.Equal(["s2", "s2", "s3", "s3", "s4", "s4"], h.Backend.Jobs.Select(j => j.Submission.Context.Sample));
        h.Backend.SetRunning("job-1");
        h.Backend.Fail("job-3", "Task failed to start", "CannotPullContainerError: image not found");
        h.Backend.Fail("job-4", "Dependent Job failed");
        h.Backend.Fail("job-5", "Essential container in task exited", exitCode: 1);
        h.Backend.Fail("job-6", "Dependent Job failed");

        var summary = (await h.PassAsync()).Summary;

        Assert.Equal(10, summary.Total);
        Assert.Equal(2, summary.Complete);
        Assert.Equal(1, summary.Running);
        Assert.Equal(1, summary.Queued);
        Assert.Equal(1, summary.Waiting);
        Assert.Equal(1, summary.Retrying);
        Assert.Equal(1, summary.Failed);
        Assert.Equal(2, summary.Blocked);
        Assert.Equal(1, summary.Invalid);
        Assert.Equal(0, summary.Cancelled);
        Assert.Equal(summary.Total,
            summary.Complete + summary.Running + summary.Queued + summary.Waiting + summary.Retrying
            + summary.Failed + summary.Blocked + summary.Invalid + summary.Cancelled);
    }

    [Fact]
    public async Task Reconcile_Snapshot_NamesTheWorkflowAndBackendAndSurvivesItsJsonForm()
    {
        var h = new ReconcilerHarness();

        var snapshot = await h.PassAsync();

        Assert.Equal(WorkflowSnapshot.SchemaName, snapshot.Schema);
        Assert.Equal(("demo", "wf", "wf.json", "Fake"), (snapshot.Project, snapshot.Workflow, snapshot.File, snapshot.Backend));
        Assert.Equal(Start, snapshot.ReconciledAt);
        Assert.Equal(["s1/align", "s1/call"], snapshot.Slots.Select(s => $"{s.Sample}/{s.Analysis}"));
        var copy = Copy(snapshot);
        Assert.Equal(snapshot.Slots.Select(s => (s.State, s.JobId, s.JobName, s.Attempt, s.MaxAttempts, s.Memory)),
            copy.Slots.Select(s => (s.State, s.JobId, s.JobName, s.Attempt, s.MaxAttempts, s.Memory)));
        Assert.Equal(snapshot.Summary.Queued, copy.Summary.Queued);
    }
}

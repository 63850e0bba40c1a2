using Batchkeeper.Core.Passes;
using Batchkeeper.Core.Reconciliation;
using Batchkeeper.Core.Snapshots;
using static Batchkeeper.Core.Tests.Reconciliation.ReconcilerHarness;

namespace Batchkeeper.Core.Tests.Reconciliation;

/// <summary>Retry requests and jobs stuck RUNNABLE.</summary>
public sealed class RetryAndStuckTests
{
    private static async Task<ReconcilerHarness> FailedForGoodAsync(ReconcilerOptions? options = null)
    {
        var h = new ReconcilerHarness(OneStep("\"containerOverrides\": { \"memory\": 1000 }, \"retry\": { \"max_attempts\": 1 }"), Samples("s1", "s2"), options);
        await h.PassAsync();
        h.Backend.Fail("job-1", null, "OutOfMemoryError: Container killed due to memory usage", 137);
        h.Backend.Fail("job-2", "Essential container in task exited", exitCode: 1);
        await h.PassAsync();
        Assert.Equal(2, h.Snapshot!.Summary.Failed);
        return h;
    }

    [Fact]
    public async Task RetryRequest_ResetsOnlyTheMatchingFailedSlots_Once()
    {
        var h = await FailedForGoodAsync();
        var request = new RetryRequest("r1", "s2", null, Start);

        await h.PassAsync([request]);

        Assert.Equal(SlotState.FailedPermanently, h.Slot("s1", "align").State);
        var retried = h.Slot("s2", "align");
        Assert.Equal((SlotState.Queued, 1, "job-3"), (retried.State, retried.Attempt, retried.JobId));
        Assert.Equal(["r1"], h.Snapshot!.AppliedRequests);

        // The same request again (the file was not consumed yet) changes nothing once the slot fails again.
        h.Backend.Fail("job-3", "Essential container in task exited", exitCode: 1);
        await h.PassAsync();
        await h.PassAsync([request]);
        Assert.Equal(SlotState.FailedPermanently, h.Slot("s2", "align").State);
        Assert.Equal(3, h.Backend.SubmitCalls.Count);
    }

    [Fact]
    public async Task RetryRequest_KeepsMemoryRaisedByOutOfMemory()
    {
        var h = new ReconcilerHarness(OneStep("\"containerOverrides\": { \"memory\": 1000 }, \"retry\": { \"max_attempts\": 2 }"));
        await h.PassAsync();
        h.Backend.Fail("job-1", null, "OutOfMemoryError: Container killed due to memory usage", 137);
        await h.PassAsync();
        h.Backend.Fail("job-2", null, "OutOfMemoryError: Container killed due to memory usage", 137);
        await h.PassAsync();
        Assert.Equal(SlotState.FailedPermanently, h.Slot("s1", "align").State);

        await h.PassAsync([new RetryRequest("r", null, "align", Start)]);

        Assert.Equal(1500, h.Backend.SubmitCalls[^1].Job.MemoryMiB);
        Assert.Equal(1, h.Slot("s1", "align").Attempt);
    }

    [Theory]
    [InlineData("MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - no compute environment can run it", true)]
    [InlineData("CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - no Spot capacity", true)]
    [InlineData(null, false)]
    [InlineData("waiting for a free vCPU", false)]
    public async Task RunnableTooLong_WithAMisconfigurationOrCapacityReason_IsFlaggedStuck(string? reason, bool stuck)
    {
        var h = new ReconcilerHarness(OneStep(), options: new ReconcilerOptions { SubmitParallelism = 1, StuckRunnableAfter = TimeSpan.FromMinutes(30) });
        await h.PassAsync();
        h.Backend.SetRunnable("job-1", reason);
        await h.PassAsync();
        h.Clock.Advance(TimeSpan.FromMinutes(29));
        await h.PassAsync();
        Assert.False(h.Slot("s1", "align").Stuck);

        h.Clock.Advance(TimeSpan.FromMinutes(2));
        await h.PassAsync();

        var slot = h.Slot("s1", "align");
        Assert.Equal(stuck, slot.Stuck);
        Assert.Equal(stuck, (slot.Message ?? "").StartsWith("stuck RUNNABLE for 00:31:00", StringComparison.Ordinal));
        Assert.Empty(h.Backend.TerminateCalls);
    }

    [Fact]
    public async Task StuckJob_IsTerminatedWhenConfigured_AndTheSlotIsMisconfigured()
    {
        var h = new ReconcilerHarness(OneStep(), options: new ReconcilerOptions { SubmitParallelism = 1, StuckRunnableAfter = TimeSpan.FromMinutes(5), TerminateStuckJobs = true });
        await h.PassAsync();
        h.Backend.SetRunnable("job-1", "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - the job asks for more vCPUs than any instance has");
        await h.PassAsync();
        h.Clock.Advance(TimeSpan.FromMinutes(6));
        await h.PassAsync();

        var (jobId, reason) = Assert.Single(h.Backend.TerminateCalls);
        Assert.Equal("job-1", jobId);
        Assert.StartsWith(FailureClassifier.StuckReasonPrefix, reason, StringComparison.Ordinal);

        await h.PassAsync();
        var slot = h.Slot("s1", "align");
        Assert.Equal((SlotState.FailedPermanently, FailureClass.Misconfigured), (slot.State, slot.FailureClass));
        Assert.Single(h.Backend.SubmitCalls);
    }
}

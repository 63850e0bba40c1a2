using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Reconciliation;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Tests.Reconciliation;

/// <summary>The failure policy as a table: failure and budget in, the slot's next state out.</summary>
public sealed class FailurePolicyTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    /// <summary>Three attempts, factor 1.5, a 4000 MiB ceiling, two free interruptions, one minute of backoff.</summary>
    private static readonly RetryLimits Limits = new(3, 1.5, 4000, 2, TimeSpan.FromMinutes(1));

    [Theory]
    // failure,                    attempt, interruptions, memory, ran with → state,              attempt, interruptions, memory, next attempt in (s, -1: none)
    [InlineData(FailureClass.Failed, 1, 0, 1000, null, SlotState.Retrying, 2, 0, 1000, 60)]
    [InlineData(FailureClass.Failed, 2, 0, 1000, null, SlotState.Retrying, 3, 0, 1000, 120)]
    [InlineData(FailureClass.Failed, 0, 0, 1000, null, SlotState.Retrying, 2, 0, 1000, 60)]
    [InlineData(FailureClass.Failed, 3, 0, 1000, null, SlotState.FailedPermanently, 3, 0, 1000, -1)]
    [InlineData(FailureClass.TimedOut, 1, 0, 1000, null, SlotState.Retrying, 2, 0, 1000, 60)]
    [InlineData(FailureClass.SucceededWithoutOutputs, 3, 1, null, null, SlotState.FailedPermanently, 3, 1, null, -1)]
    [InlineData(FailureClass.OutOfMemory, 1, 0, 1000, null, SlotState.Retrying, 2, 0, 1500, 0)]
    [InlineData(FailureClass.OutOfMemory, 1, 0, 1000, 2000, SlotState.Retrying, 2, 0, 3000, 0)]
    [InlineData(FailureClass.OutOfMemory, 2, 0, 3000, null, SlotState.Retrying, 3, 0, 4000, 0)]
    [InlineData(FailureClass.OutOfMemory, 2, 0, 4000, null, SlotState.FailedPermanently, 2, 0, 4000, -1)]
    [InlineData(FailureClass.OutOfMemory, 3, 0, 1000, null, SlotState.FailedPermanently, 3, 0, 1000, -1)]
    [InlineData(FailureClass.OutOfMemory, 1, 0, null, null, SlotState.Retrying, 2, 0, null, 0)]
    [InlineData(FailureClass.Interrupted, 1, 0, 1000, null, SlotState.Retrying, 1, 1, 1000, 0)]
    [InlineData(FailureClass.Interrupted, 3, 1, 1000, null, SlotState.Retrying, 3, 2, 1000, 0)]
    [InlineData(FailureClass.Interrupted, 1, 2, 1000, null, SlotState.FailedPermanently, 1, 2, 1000, -1)]
    [InlineData(FailureClass.Misconfigured, 1, 0, 1000, null, SlotState.FailedPermanently, 1, 0, 1000, -1)]
    [InlineData(FailureClass.Blocked, 2, 1, 1000, null, SlotState.Waiting, 2, 1, 1000, -1)]
    [InlineData(FailureClass.Cancelled, 2, 1, 1000, null, SlotState.Cancelled, 2, 1, 1000, -1)]
    public void Decide_GivesTheNextStateAttemptMemoryAndTime(
        FailureClass failure, int attempt, int interruptions, int? memory, int? ranWith,
        SlotState state, int nextAttempt, int nextInterruptions, int? nextMemory, int inSeconds)
    {
        var decision = FailurePolicy.Decide(failure, "why", new SlotBudget(attempt, interruptions, memory), ranWith, Limits, Now);

        DateTimeOffset? at = inSeconds < 0 ? null : Now + TimeSpan.FromSeconds(inSeconds);
        Assert.Equal((state, nextAttempt, nextInterruptions, nextMemory, at),
            (decision.State, decision.Attempt, decision.Interruptions, decision.Memory, decision.NextAttemptAt));
    }

    [Theory]
    [InlineData(FailureClass.Failed, 3, 0, "failed on all 3 attempts; last: why")]
    [InlineData(FailureClass.TimedOut, 3, 0, "timed out on all 3 attempts; last: why")]
    [InlineData(FailureClass.Interrupted, 1, 2, "interrupted 3 times, more than the cap of 2: why")]
    [InlineData(FailureClass.OutOfMemory, 3, 0, "out of memory on all 3 attempts: why")]
    public void Decide_PermanentFailure_SaysWhyAndQuotesTheReason(FailureClass failure, int attempt, int interruptions, string message)
    {
        var decision = FailurePolicy.Decide(failure, "why", new SlotBudget(attempt, interruptions, 1000), null, Limits, Now);

        Assert.Equal((SlotState.FailedPermanently, message, FailurePolicy.NotResubmitted), (decision.State, decision.Message, decision.LogDecision));
    }

    [Theory]
    [InlineData(FailureClass.Failed, 1, "Resubmitting at 2026-11-22T10:01:00Z (in 1 min), attempt 2 of 3.")]
    [InlineData(FailureClass.TimedOut, 2, "Timed out: resubmitting with the same memory at 2026-11-22T10:02:00Z (in 2 min), attempt 3 of 3.")]
    [InlineData(FailureClass.OutOfMemory, 1, "Resubmitting with 1500 MiB, attempt 2 of 3.")]
    [InlineData(FailureClass.Interrupted, 1, "Resubmitting without using an attempt (interruption 1 of 2).")]
    public void Decide_Retry_MessageIsTheDecision(FailureClass failure, int attempt, string message)
    {
        var decision = FailurePolicy.Decide(failure, "why", new SlotBudget(attempt, 0, 1000), null, Limits, Now);

        Assert.Equal((message, message), (decision.Message, decision.LogDecision));
    }

    [Fact]
    public void Decide_OutOfMemoryAtTheCeiling_NamesIt()
    {
        var decision = FailurePolicy.Decide(FailureClass.OutOfMemory, "why", new SlotBudget(1, 0, 4000), null, Limits, Now);

        Assert.Equal("out of memory at max_memory (4000 MiB): why", decision.Message);
    }
}

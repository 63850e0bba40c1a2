using Batchkeeper.Core.Logging;
using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Reconciliation;

/// <summary>What a slot has used of its budget when its job failed.</summary>
/// <param name="Attempt">The attempt that failed (0 when none was counted yet: treated as the first).</param>
/// <param name="Interruptions">Interruptions already resubmitted for free.</param>
/// <param name="Memory">The slot's memory, MiB; null when unknown.</param>
public readonly record struct SlotBudget(int Attempt, int Interruptions, int? Memory);

/// <summary>What becomes of a slot after a failure.</summary>
/// <param name="Message">The slot's message; null leaves it as it was.</param>
/// <param name="LogDecision">The sentence the log line ends with.</param>
public sealed record FailureDecision(
    SlotState State, int Attempt, int Interruptions, int? Memory, DateTimeOffset? NextAttemptAt, string? Message, string LogDecision);

/// <summary>
/// The failure policy as a pure decision: given the kind of failure, the slot's budget and its limits, whether and
/// when the slot runs again, with how much memory, or why it fails for good. No I/O, no clock: <c>now</c> comes in.
/// </summary>
public static class FailurePolicy
{
    public const string NotResubmitted = "Not resubmitted.";

    /// <param name="reason">What the backend said of the failure, quoted in a permanent failure's message.</param>
    /// <param name="ranWith">The memory the backend says the job had, MiB (null: the slot's); raised after out of memory.</param>
    public static FailureDecision Decide(
        FailureClass failure, string reason, SlotBudget budget, int? ranWith, RetryLimits limits, DateTimeOffset now)
    {
        var (attempt, interruptions, memory) = budget;
        switch (failure)
        {
            case FailureClass.Blocked:
                return new(SlotState.Waiting, attempt, interruptions, memory, null, null, "It is resubmitted once the analysis before it is running again.");
            case FailureClass.Cancelled:
                return new(SlotState.Cancelled, attempt, interruptions, memory, null, null, "It was cancelled.");
            case FailureClass.Interrupted when interruptions < limits.MaxInterruptions:
                var decision = $"Resubmitting without using an attempt (interruption {interruptions + 1} of {limits.MaxInterruptions}).";
                return new(SlotState.Retrying, attempt, interruptions + 1, memory, now, decision, decision);
            case FailureClass.Interrupted:
                return Permanently(budget, $"interrupted {interruptions + 1} times, more than the cap of {limits.MaxInterruptions}: {reason}");
            case FailureClass.Misconfigured:
                return Permanently(budget, $"misconfigured, not retried (fix the job definition, queue or image, then edit the workflow or run 'batchkeeper retry'): {reason}");
            case FailureClass.OutOfMemory when attempt >= limits.MaxAttempts:
                return Permanently(budget, $"out of memory on all {limits.MaxAttempts} attempts: {reason}");
            case FailureClass.OutOfMemory:
                if ((ranWith ?? memory) is { } current)
                {
                    if (limits.MaxMemoryMiB is { } ceiling && current >= ceiling)
                    {
                        return Permanently(budget, $"out of memory at max_memory ({ceiling} MiB): {reason}");
                    }

                    var raised = (int)Math.Ceiling(current * limits.MemoryFactor);
                    memory = limits.MaxMemoryMiB is { } max ? Math.Min(raised, max) : raised;
                }

                var next = Math.Max(1, attempt) + 1;
                var resubmit = memory is { } mib
                    ? $"Resubmitting with {mib} MiB, attempt {next} of {limits.MaxAttempts}."
                    : $"Resubmitting (its memory is unknown, so it cannot be raised), attempt {next} of {limits.MaxAttempts}.";
                return new(SlotState.Retrying, next, interruptions, memory, now, resubmit, resubmit);
            default:
                // timed_out is an ordinary failure too (memory unchanged), named as a timeout.
                var what = failure == FailureClass.TimedOut ? "timed out" : "failed";
                if (attempt >= limits.MaxAttempts)
                {
                    return Permanently(budget, $"{what} on all {limits.MaxAttempts} attempts; last: {reason}");
                }

                var at = now + limits.Backoff * Math.Pow(2, Math.Max(0, attempt - 1));
                var again = Math.Max(1, attempt) + 1;
                var when = $"{Readable.Time(at)} (in {Readable.Duration(at - now)})";
                var later = failure == FailureClass.TimedOut
                    ? $"Timed out: resubmitting with the same memory at {when}, attempt {again} of {limits.MaxAttempts}."
                    : $"Resubmitting at {when}, attempt {again} of {limits.MaxAttempts}.";
                return new(SlotState.Retrying, again, interruptions, memory, at, later, later);
        }
    }

    private static FailureDecision Permanently(SlotBudget budget, string message) =>
        new(SlotState.FailedPermanently, budget.Attempt, budget.Interruptions, budget.Memory, null, message, NotResubmitted);
}

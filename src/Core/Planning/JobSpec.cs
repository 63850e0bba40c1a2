namespace Batchkeeper.Core.Planning;

/// <summary>
/// A slot's job as it would be submitted, expanded for its sample. Strings may still hold
/// <c>{attempt}</c>: <see cref="JobTemplate.Finalize"/> fills it in at submission.
/// </summary>
public sealed record JobSpec(
    string JobName,
    string SpecHash,
    JobTemplate Job,
    IReadOnlyList<OutputLocation> Outputs,
    RetryLimits Retry);

/// <summary>The retry settings of one analysis, with the daemon's defaults filled in.</summary>
/// <param name="MaxAttempts">Attempts for ordinary failures.</param>
/// <param name="MemoryFactor">Memory multiplier after an out-of-memory failure.</param>
/// <param name="MaxMemoryMiB">Memory ceiling for escalation, or null for none.</param>
/// <param name="MaxInterruptions">Free resubmissions after Spot or host loss.</param>
/// <param name="Backoff">Wait before the second attempt; doubled for each later one.</param>
public sealed record RetryLimits(int MaxAttempts, double MemoryFactor, int? MaxMemoryMiB, int MaxInterruptions, TimeSpan Backoff)
{
    /// <summary>The daemon's built-in defaults (overridden by <c>Batchkeeper:Retry</c>).</summary>
    public static RetryLimits Default { get; } = new(3, 1.5, null, 5, TimeSpan.FromMinutes(1));
}

namespace Batchkeeper.Core.Reconciliation;

/// <summary>How the reconciler treats time and load.</summary>
public sealed class ReconcilerOptions
{
    /// <summary>How long a SUCCEEDED job's outputs may take to appear before it counts as a failure. Default 1 minute.</summary>
    public TimeSpan OutputGracePeriod { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a submitted job may be missing from the backend before it is taken as lost. Default 10 minutes.</summary>
    public TimeSpan LostJobAfter { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// A job RUNNABLE this long with a status reason starting <c>MISCONFIGURATION:</c> or <c>CAPACITY:</c> is
    /// flagged as stuck in the snapshot. Default 30 minutes.
    /// </summary>
    public TimeSpan StuckRunnableAfter { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Whether a stuck job is also terminated, and its slot reported as misconfigured. Default false.</summary>
    public bool TerminateStuckJobs { get; init; }

    /// <summary>How many samples' chains submit at once within one pass. Default 4.</summary>
    public int SubmitParallelism { get; init; } = 4;
}

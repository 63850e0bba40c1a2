namespace Batchkeeper.Core.Reconciliation;

/// <summary>How the reconciler treats time and load.</summary>
public sealed class ReconcilerOptions
{
    /// <summary>How long a SUCCEEDED job's outputs may take to appear before it counts as a failure. Default 1 minute.</summary>
    public TimeSpan OutputGracePeriod { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a submitted job may be missing from the backend before it is taken as lost. Default 10 minutes.</summary>
    public TimeSpan LostJobAfter { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How many samples' chains submit at once within one pass. Default 4.</summary>
    public int SubmitParallelism { get; init; } = 4;
}

using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Reconciliation;

/// <summary>Reads why a job failed from Batch's status reason, container reason and exit code.</summary>
public static class FailureClassifier
{
    /// <summary>The status reason the local backend gives a job whose process was lost with the daemon.</summary>
    public const string LocalInterruptedReason = "Host interrupted: the batchkeeper daemon stopped while the job ran";

    /// <summary>Batch's status reason for a job killed at its <c>timeout</c> (the local backend gives the same).</summary>
    public const string TimeoutReason = "Job attempt duration exceeded timeout";

    /// <summary>The start of the status reason Batchkeeper gives jobs it terminates for <c>cancel: true</c>.</summary>
    public const string CancelledReasonPrefix = "Cancelled by batchkeeper";

    /// <summary>The start of the status reason Batchkeeper gives jobs it terminates for being stuck RUNNABLE.</summary>
    public const string StuckReasonPrefix = "Stuck RUNNABLE, terminated by batchkeeper";

    private static readonly string[] InterruptedPrefixes = ["Host EC2", "Your Spot Task was interrupted", "Host interrupted"];

    private static readonly string[] MisconfiguredMarkers =
    [
        "CannotPullContainerError", "MISCONFIGURATION:", StuckReasonPrefix, "CannotCreateContainerError", "CannotInspectContainerError",
        "Job definition not found", "JobQueue not found", "does not exist", "ResourceInitializationError",
    ];

    /// <summary>Classifies a FAILED job. The first rule that matches wins, in the order of the design's table.</summary>
    public static FailureClass Classify(JobDetail job)
    {
        var status = job.StatusReason ?? "";
        var container = job.ContainerReason ?? "";

        if (status.StartsWith(CancelledReasonPrefix, StringComparison.Ordinal))
        {
            return FailureClass.Cancelled;
        }

        if (InterruptedPrefixes.Any(p => status.StartsWith(p, StringComparison.Ordinal)))
        {
            return FailureClass.Interrupted;
        }

        if (status.Contains("Dependent Job failed", StringComparison.OrdinalIgnoreCase))
        {
            return FailureClass.Blocked;
        }

        if (MisconfiguredMarkers.Any(m => container.Contains(m, StringComparison.Ordinal) || status.Contains(m, StringComparison.Ordinal)))
        {
            return FailureClass.Misconfigured;
        }

        // Before out of memory: the timeout kill is a SIGKILL too, exit 137, and more memory would not help it.
        if (status.Contains(TimeoutReason, StringComparison.OrdinalIgnoreCase))
        {
            return FailureClass.TimedOut;
        }

        if (container.StartsWith("OutOfMemoryError", StringComparison.Ordinal) || job.ExitCode == 137)
        {
            return FailureClass.OutOfMemory;
        }

        return FailureClass.Failed;
    }
}

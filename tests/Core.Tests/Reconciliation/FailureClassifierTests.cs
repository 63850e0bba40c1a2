using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Reconciliation;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Tests.Reconciliation;

public sealed class FailureClassifierTests
{
    private static JobDetail Failed(string? statusReason, string? containerReason, int? exitCode) =>
        new("job-1", "bk-wf-a-s1-0123456789", JobStatus.Failed, statusReason, containerReason, exitCode, null, null, null, null, null, 1000);

    [Theory]
    // Interruptions: Spot reclaim, host loss, and the local backend's own reason; they win over exit code 137.
    [InlineData("Host EC2 (instance i-0abc123) terminated.", null, null, FailureClass.Interrupted)]
    [InlineData("Host EC2 (instance i-1) terminated.", null, 137, FailureClass.Interrupted)]
    [InlineData("Your Spot Task was interrupted.", null, null, FailureClass.Interrupted)]
    [InlineData(FailureClassifier.LocalInterruptedReason, null, null, FailureClass.Interrupted)]
    [InlineData("Host interrupted: the backend no longer knows job job-1", null, null, FailureClass.Interrupted)]
    // The upstream job failed.
    [InlineData("Dependent Job failed", null, null, FailureClass.Blocked)]
    [InlineData("dependent job failed", null, null, FailureClass.Blocked)]
    // Cannot succeed as configured: the reason may be in either field.
    [InlineData("Task failed to start", "CannotPullContainerError: pull image manifest has been retried 5 time(s)", null, FailureClass.Misconfigured)]
    [InlineData("CannotPullContainerError: Error response from daemon", null, null, FailureClass.Misconfigured)]
    [InlineData("MISCONFIGURATION:JOB_QUEUE_REQUIRES_COMPUTE_ENVIRONMENT - the queue has no compute environment", null, null, FailureClass.Misconfigured)]
    [InlineData("Task failed to start", "CannotCreateContainerError: Error response from daemon", null, FailureClass.Misconfigured)]
    [InlineData("Task failed to start", "ResourceInitializationError: unable to pull secrets", null, FailureClass.Misconfigured)]
    // Out of memory: the container reason, or exit code 137 alone.
    [InlineData("Essential container in task exited", "OutOfMemoryError: Container killed due to memory usage", 137, FailureClass.OutOfMemory)]
    [InlineData(null, "OutOfMemoryError: Container killed due to memory usage", null, FailureClass.OutOfMemory)]
    [InlineData("Essential container in task exited", null, 137, FailureClass.OutOfMemory)]
    [InlineData(null, null, 137, FailureClass.OutOfMemory)]
    // Ordinary failures.
    [InlineData("Essential container in task exited", null, 1, FailureClass.Failed)]
    [InlineData(null, null, 1, FailureClass.Failed)]
    [InlineData(null, null, null, FailureClass.Failed)]
    [InlineData("Job attempt duration exceeded timeout", null, 143, FailureClass.TimedOut)]
    [InlineData("Job attempt duration exceeded timeout", null, 137, FailureClass.TimedOut)]
    [InlineData("Essential container in task exited", "out of memory in my own code", 2, FailureClass.Failed)]
    // Batchkeeper's own cancellation wins over everything.
    [InlineData("Cancelled by batchkeeper: cancel is true in wf.json", null, 137, FailureClass.Cancelled)]
    [InlineData(FailureClassifier.CancelledReasonPrefix, null, null, FailureClass.Cancelled)]
    public void Classify_FailedJob_FollowsTheFailurePolicyTable(string? statusReason, string? containerReason, int? exitCode, FailureClass expected)
    {
        Assert.Equal(expected, FailureClassifier.Classify(Failed(statusReason, containerReason, exitCode)));
    }

    [Fact]
    public void Classify_InterruptionPrefix_MustStartTheReason()
    {
        // A reason that merely mentions Spot is an ordinary failure.
        Assert.Equal(FailureClass.Failed, FailureClassifier.Classify(Failed("Task failed: Your Spot Task was interrupted.", null, 1)));
    }
}

namespace Batchkeeper.Daemon.Aws.Batch.Model;

// ---- TerminateJob / CancelJob ------------------------------------------------------------------

/// <summary>Input of <c>TerminateJob</c>: stops a job in any state, running ones included.</summary>
public sealed record TerminateJobRequest
{
    public required string JobId { get; init; }

    /// <summary>Shown as the job's status reason.</summary>
    public required string Reason { get; init; }
}

/// <summary>Output of <c>TerminateJob</c> (empty).</summary>
public sealed record TerminateJobResponse;

/// <summary>Input of <c>CancelJob</c>: stops a job that has not reached STARTING; running jobs go on.</summary>
public sealed record CancelJobRequest
{
    public required string JobId { get; init; }

    /// <summary>Shown as the job's status reason.</summary>
    public required string Reason { get; init; }
}

/// <summary>Output of <c>CancelJob</c> (empty).</summary>
public sealed record CancelJobResponse;

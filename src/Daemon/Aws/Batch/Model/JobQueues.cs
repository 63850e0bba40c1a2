using System.Collections.ObjectModel;

namespace Batchkeeper.Daemon.Aws.Batch.Model;

// ---- DescribeJobQueues -------------------------------------------------------------------------

/// <summary>Input of <c>DescribeJobQueues</c>.</summary>
public sealed record DescribeJobQueuesRequest
{
    /// <summary>Names or ARNs, at most 100; null for every queue.</summary>
    public IReadOnlyList<string>? JobQueues { get; init; }

    public int? MaxResults { get; init; }

    public string? NextToken { get; init; }
}

/// <summary>Output of <c>DescribeJobQueues</c>. Unknown names are simply missing.</summary>
public sealed record DescribeJobQueuesResponse
{
    public IReadOnlyList<JobQueueDetail> JobQueues { get; init => field = value ?? []; } = [];

    public string? NextToken { get; init; }
}

/// <summary>Model shape <c>JobQueueDetail</c>.</summary>
public sealed record JobQueueDetail
{
    public required string JobQueueName { get; init; }

    public required string JobQueueArn { get; init; }

    /// <summary><c>ENABLED</c> or <c>DISABLED</c>.</summary>
    public required string State { get; init; }

    public string? SchedulingPolicyArn { get; init; }

    /// <summary><c>CREATING</c>, <c>UPDATING</c>, <c>DELETING</c>, <c>DELETED</c>, <c>VALID</c> or <c>INVALID</c>.</summary>
    public string? Status { get; init; }

    public string? StatusReason { get; init; }

    public required int Priority { get; init; }

    public IReadOnlyList<ComputeEnvironmentOrder> ComputeEnvironmentOrder { get; init => field = value ?? []; } = [];

    public string? JobQueueType { get; init; }

    public IReadOnlyDictionary<string, string> Tags { get; init => field = value ?? ReadOnlyDictionary<string, string>.Empty; } = ReadOnlyDictionary<string, string>.Empty;
}

/// <summary>Model shape <c>ComputeEnvironmentOrder</c>.</summary>
public sealed record ComputeEnvironmentOrder
{
    public required int Order { get; init; }

    public required string ComputeEnvironment { get; init; }
}

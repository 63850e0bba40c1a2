using System.Collections.ObjectModel;

namespace Batchkeeper.Daemon.Aws.Batch.Model;

// ---- DescribeJobs ------------------------------------------------------------------------------

/// <summary>Input of <c>DescribeJobs</c>.</summary>
public sealed record DescribeJobsRequest
{
    /// <summary>At most 100 job ids.</summary>
    public required IReadOnlyList<string> Jobs { get; init; }
}

/// <summary>Output of <c>DescribeJobs</c>. Ids Batch does not know (yet) are simply missing.</summary>
public sealed record DescribeJobsResponse
{
    public IReadOnlyList<JobDetail> Jobs { get; init => field = value ?? []; } = [];
}

/// <summary>Model shape <c>JobDetail</c>.</summary>
public sealed record JobDetail
{
    public string? JobArn { get; init; }

    public required string JobName { get; init; }

    public required string JobId { get; init; }

    public required string JobQueue { get; init; }

    /// <summary>One of <see cref="JobStatus"/>.</summary>
    public required string Status { get; init; }

    public string? ShareIdentifier { get; init; }

    public int? SchedulingPriority { get; init; }

    public IReadOnlyList<AttemptDetail> Attempts { get; init => field = value ?? []; } = [];

    public string? StatusReason { get; init; }

    public DateTimeOffset? CreatedAt { get; init; }

    public RetryStrategy? RetryStrategy { get; init; }

    /// <summary>Absent until the job starts, although the model marks it required.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? StoppedAt { get; init; }

    public IReadOnlyList<JobDependency> DependsOn { get; init => field = value ?? []; } = [];

    public required string JobDefinition { get; init; }

    public IReadOnlyDictionary<string, string> Parameters { get; init => field = value ?? ReadOnlyDictionary<string, string>.Empty; } = ReadOnlyDictionary<string, string>.Empty;

    public ContainerDetail? Container { get; init; }

    public ArrayPropertiesDetail? ArrayProperties { get; init; }

    public JobTimeout? Timeout { get; init; }

    public IReadOnlyDictionary<string, string> Tags { get; init => field = value ?? ReadOnlyDictionary<string, string>.Empty; } = ReadOnlyDictionary<string, string>.Empty;

    public bool? PropagateTags { get; init; }

    public IReadOnlyList<string> PlatformCapabilities { get; init => field = value ?? []; } = [];

    public bool? IsCancelled { get; init; }

    public bool? IsTerminated { get; init; }
}

/// <summary>Model shape <c>ContainerDetail</c> (the container of the latest attempt).</summary>
public sealed record ContainerDetail : ContainerShape
{
    public string? User { get; init; }

    public int? ExitCode { get; init; }

    /// <summary>Why the container stopped, e.g. <c>OutOfMemoryError: Container killed due to memory usage</c>.</summary>
    public string? Reason { get; init; }

    public string? ContainerInstanceArn { get; init; }

    public string? TaskArn { get; init; }

    /// <summary>The CloudWatch Logs stream (in group <c>/aws/batch/job</c> unless the definition says otherwise).</summary>
    public string? LogStreamName { get; init; }

    public string? InstanceType { get; init; }

    public IReadOnlyList<NetworkInterface> NetworkInterfaces { get; init => field = value ?? []; } = [];

    public IReadOnlyList<ResourceRequirement> ResourceRequirements { get; init => field = value ?? []; } = [];

    public LogConfiguration? LogConfiguration { get; init; }
}

/// <summary>Model shape <c>LogConfiguration</c>.</summary>
public sealed record LogConfiguration
{
    public required string LogDriver { get; init; }

    public IReadOnlyDictionary<string, string> Options { get; init => field = value ?? ReadOnlyDictionary<string, string>.Empty; } = ReadOnlyDictionary<string, string>.Empty;
}

/// <summary>Model shape <c>NetworkInterface</c>.</summary>
public sealed record NetworkInterface
{
    public string? AttachmentId { get; init; }

    public string? Ipv6Address { get; init; }

    public string? PrivateIpv4Address { get; init; }
}

/// <summary>Model shape <c>AttemptDetail</c>: one finished or running attempt of a job.</summary>
public sealed record AttemptDetail
{
    public AttemptContainerDetail? Container { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? StoppedAt { get; init; }

    public string? StatusReason { get; init; }
}

/// <summary>Model shape <c>AttemptContainerDetail</c>.</summary>
public sealed record AttemptContainerDetail
{
    public string? ContainerInstanceArn { get; init; }

    public string? TaskArn { get; init; }

    public int? ExitCode { get; init; }

    public string? Reason { get; init; }

    public string? LogStreamName { get; init; }

    public IReadOnlyList<NetworkInterface> NetworkInterfaces { get; init => field = value ?? []; } = [];
}

/// <summary>Model shape <c>ArrayPropertiesDetail</c>.</summary>
public sealed record ArrayPropertiesDetail
{
    public IReadOnlyDictionary<string, int> StatusSummary { get; init => field = value ?? ReadOnlyDictionary<string, int>.Empty; } = ReadOnlyDictionary<string, int>.Empty;

    public DateTimeOffset? StatusSummaryLastUpdatedAt { get; init; }

    public int? Size { get; init; }

    public int? Index { get; init; }
}

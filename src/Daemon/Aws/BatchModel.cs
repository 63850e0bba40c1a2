using System.Collections.ObjectModel;

namespace Batchkeeper.Daemon.Aws;

// Request and response shapes of the AWS Batch API (service model batch-2016-08-10), the part the daemon
// uses. Each record is named after its model shape and serialised with camelCase names, so a property
// is the model member of the same name (checked against the model by the tests). Rules:
// - requests: members the model requires are `required`; the others are nullable and left out of the
//   JSON when null;
// - responses: the model's required identifiers are `required` (a response without them is rejected);
//   lists and maps are never null (empty when absent or null: the source-generated deserializer assigns
//   every init-only property, so the init accessor turns its null into an empty collection); other
//   members are nullable. `startedAt` is
//   nullable although the model requires it: Batch leaves it out until the job starts;
// - timestamps (epoch milliseconds on the wire) are DateTimeOffset;
// - enums are strings (see JobStatus, ResourceType…), so a value added to the service later still parses;
// - members the daemon has no use for (EKS/ECS/multi-node properties, consumable resources…) are not
//   modelled; unknown members in responses are ignored.

/// <summary>The values of the model enum <c>JobStatus</c>.</summary>
public static class JobStatus
{
    public const string Submitted = "SUBMITTED";
    public const string Pending = "PENDING";
    public const string Runnable = "RUNNABLE";
    public const string Starting = "STARTING";
    public const string Running = "RUNNING";
    public const string Succeeded = "SUCCEEDED";
    public const string Failed = "FAILED";

    /// <summary>Every status, in lifecycle order (the order <c>batchkeeper queue</c> prints them).</summary>
    public static IReadOnlyList<string> All { get; } = [Submitted, Pending, Runnable, Starting, Running, Succeeded, Failed];

    /// <summary>Whether a job in <paramref name="status"/> may still run (neither SUCCEEDED nor FAILED).</summary>
    public static bool IsActive(string status) => status is not (Succeeded or Failed);
}

/// <summary>The values of the model enum <c>ResourceType</c>.</summary>
public static class ResourceType
{
    public const string Vcpu = "VCPU";

    /// <summary>Memory in MiB.</summary>
    public const string Memory = "MEMORY";

    public const string Gpu = "GPU";
}

/// <summary>The values of the model enum <c>ArrayJobDependency</c>.</summary>
public static class ArrayJobDependency
{
    public const string NToN = "N_TO_N";
    public const string Sequential = "SEQUENTIAL";
}

// ---- SubmitJob ---------------------------------------------------------------------------------

/// <summary>Input of <c>SubmitJob</c>.</summary>
public sealed record SubmitJobRequest
{
    /// <summary>Up to 128 letters, digits, hyphens and underscores, starting with a letter or digit.</summary>
    public required string JobName { get; init; }

    /// <summary>Name or ARN of the job queue.</summary>
    public required string JobQueue { get; init; }

    /// <summary><c>name</c>, <c>name:revision</c> or ARN of the job definition.</summary>
    public required string JobDefinition { get; init; }

    public string? ShareIdentifier { get; init; }

    public int? SchedulingPriorityOverride { get; init; }

    public ArrayProperties? ArrayProperties { get; init; }

    /// <summary>At most 20 jobs this one waits for.</summary>
    public IReadOnlyList<JobDependency>? DependsOn { get; init; }

    /// <summary>Substituted for <c>Ref::name</c> placeholders in the definition's command.</summary>
    public IReadOnlyDictionary<string, string>? Parameters { get; init; }

    public ContainerOverrides? ContainerOverrides { get; init; }

    public RetryStrategy? RetryStrategy { get; init; }

    public bool? PropagateTags { get; init; }

    public JobTimeout? Timeout { get; init; }

    public IReadOnlyDictionary<string, string>? Tags { get; init; }
}

/// <summary>Output of <c>SubmitJob</c>.</summary>
public sealed record SubmitJobResponse
{
    public string? JobArn { get; init; }

    public required string JobName { get; init; }

    public required string JobId { get; init; }
}

/// <summary>
/// Model shape <c>ContainerOverrides</c>. The deprecated <c>vcpus</c> and <c>memory</c> members are left
/// out on purpose: resources go in <see cref="ResourceRequirements"/>.
/// </summary>
public sealed record ContainerOverrides
{
    public IReadOnlyList<string>? Command { get; init; }

    public string? InstanceType { get; init; }

    public IReadOnlyList<EnvironmentVariable>? Environment { get; init; }

    public IReadOnlyList<ResourceRequirement>? ResourceRequirements { get; init; }
}

/// <summary>Model shape <c>KeyValuePair</c>: one environment variable of a container.</summary>
public sealed record EnvironmentVariable
{
    public string? Name { get; init; }

    public string? Value { get; init; }
}

/// <summary>Model shape <c>ResourceRequirement</c>, e.g. <c>{ type: VCPU, value: "2" }</c> or <c>{ type: MEMORY, value: "4096" }</c> (MiB).</summary>
public sealed record ResourceRequirement
{
    /// <summary>A number, as a string (<c>"0.25"</c> vCPU is valid on Fargate).</summary>
    public required string Value { get; init; }

    /// <summary>One of <see cref="ResourceType"/>.</summary>
    public required string Type { get; init; }
}

/// <summary>Model shape <c>JobDependency</c>.</summary>
public sealed record JobDependency
{
    public string? JobId { get; init; }

    /// <summary>One of <see cref="ArrayJobDependency"/>; only meaningful for array jobs.</summary>
    public string? Type { get; init; }
}

/// <summary>Model shape <c>RetryStrategy</c>: how often Batch itself retries a job (1–10 attempts).</summary>
public sealed record RetryStrategy
{
    public int? Attempts { get; init; }

    public IReadOnlyList<EvaluateOnExit>? EvaluateOnExit { get; init; }
}

/// <summary>Model shape <c>EvaluateOnExit</c>.</summary>
public sealed record EvaluateOnExit
{
    public string? OnStatusReason { get; init; }

    public string? OnReason { get; init; }

    public string? OnExitCode { get; init; }

    /// <summary><c>RETRY</c> or <c>EXIT</c>.</summary>
    public required string Action { get; init; }
}

/// <summary>Model shape <c>JobTimeout</c>.</summary>
public sealed record JobTimeout
{
    /// <summary>Seconds an attempt may run before Batch terminates it; at least 60.</summary>
    public int? AttemptDurationSeconds { get; init; }
}

/// <summary>Model shape <c>ArrayProperties</c>.</summary>
public sealed record ArrayProperties
{
    public int? Size { get; init; }
}

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
public sealed record ContainerDetail
{
    public string? Image { get; init; }

    public int? Vcpus { get; init; }

    public int? Memory { get; init; }

    public IReadOnlyList<string> Command { get; init => field = value ?? []; } = [];

    public string? JobRoleArn { get; init; }

    public string? ExecutionRoleArn { get; init; }

    public IReadOnlyList<EnvironmentVariable> Environment { get; init => field = value ?? []; } = [];

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

// ---- ListJobs ----------------------------------------------------------------------------------

/// <summary>
/// Input of <c>ListJobs</c>. Give one of <see cref="JobQueue"/>, <see cref="ArrayJobId"/> or
/// <see cref="MultiNodeJobId"/>. With <see cref="Filters"/>, <see cref="JobStatus"/> is ignored by Batch and
/// jobs of every status are listed.
/// </summary>
public sealed record ListJobsRequest
{
    public string? JobQueue { get; init; }

    public string? ArrayJobId { get; init; }

    public string? MultiNodeJobId { get; init; }

    /// <summary>One of <see cref="Aws.JobStatus"/>; Batch's default is RUNNING.</summary>
    public string? JobStatus { get; init; }

    /// <summary>1–1000 per page; Batch's default is 100.</summary>
    public int? MaxResults { get; init; }

    public string? NextToken { get; init; }

    public IReadOnlyList<KeyValuesPair>? Filters { get; init; }
}

/// <summary>Model shape <c>KeyValuesPair</c>: a <c>ListJobs</c> filter.</summary>
public sealed record KeyValuesPair
{
    /// <summary>One of <see cref="ListJobsFilterName"/>.</summary>
    public string? Name { get; init; }

    public IReadOnlyList<string>? Values { get; init; }

    /// <summary>A <c>JOB_NAME</c> filter; a value ending in <c>*</c> matches names that start with the rest.</summary>
    public static KeyValuesPair JobName(string value) => new() { Name = ListJobsFilterName.JobName, Values = [value] };
}

/// <summary>The filter names <c>ListJobs</c> accepts.</summary>
public static class ListJobsFilterName
{
    public const string JobName = "JOB_NAME";
    public const string JobDefinition = "JOB_DEFINITION";
    public const string BeforeCreatedAt = "BEFORE_CREATED_AT";
    public const string AfterCreatedAt = "AFTER_CREATED_AT";
}

/// <summary>Output of <c>ListJobs</c>.</summary>
public sealed record ListJobsResponse
{
    public IReadOnlyList<JobSummary> JobSummaryList { get; init => field = value ?? []; } = [];

    /// <summary>Pass back in the next request for the next page; null on the last page.</summary>
    public string? NextToken { get; init; }
}

/// <summary>Model shape <c>JobSummary</c>.</summary>
public sealed record JobSummary
{
    public string? JobArn { get; init; }

    public required string JobId { get; init; }

    public required string JobName { get; init; }

    public DateTimeOffset? CreatedAt { get; init; }

    public DateTimeOffset? ScheduledAt { get; init; }

    public string? ShareIdentifier { get; init; }

    /// <summary>One of <see cref="Aws.JobStatus"/>.</summary>
    public string? Status { get; init; }

    public string? StatusReason { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? StoppedAt { get; init; }

    public ContainerSummary? Container { get; init; }

    public ArrayPropertiesSummary? ArrayProperties { get; init; }

    public string? JobDefinition { get; init; }
}

/// <summary>Model shape <c>ContainerSummary</c>.</summary>
public sealed record ContainerSummary
{
    public int? ExitCode { get; init; }

    public string? Reason { get; init; }
}

/// <summary>Model shape <c>ArrayPropertiesSummary</c>.</summary>
public sealed record ArrayPropertiesSummary
{
    public int? Size { get; init; }

    public int? Index { get; init; }

    public IReadOnlyDictionary<string, int> StatusSummary { get; init => field = value ?? ReadOnlyDictionary<string, int>.Empty; } = ReadOnlyDictionary<string, int>.Empty;

    public DateTimeOffset? StatusSummaryLastUpdatedAt { get; init; }
}

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

// ---- DescribeJobDefinitions --------------------------------------------------------------------

/// <summary>Input of <c>DescribeJobDefinitions</c>.</summary>
public sealed record DescribeJobDefinitionsRequest
{
    /// <summary><c>name:revision</c> or ARNs, at most 100.</summary>
    public IReadOnlyList<string>? JobDefinitions { get; init; }

    public int? MaxResults { get; init; }

    public string? JobDefinitionName { get; init; }

    /// <summary><c>ACTIVE</c> or <c>INACTIVE</c>.</summary>
    public string? Status { get; init; }

    public string? NextToken { get; init; }
}

/// <summary>Output of <c>DescribeJobDefinitions</c>.</summary>
public sealed record DescribeJobDefinitionsResponse
{
    public IReadOnlyList<JobDefinition> JobDefinitions { get; init => field = value ?? []; } = [];

    public string? NextToken { get; init; }
}

/// <summary>Model shape <c>JobDefinition</c>.</summary>
public sealed record JobDefinition
{
    public required string JobDefinitionName { get; init; }

    public required string JobDefinitionArn { get; init; }

    public required int Revision { get; init; }

    /// <summary><c>ACTIVE</c> or <c>INACTIVE</c>.</summary>
    public string? Status { get; init; }

    /// <summary><c>container</c> or <c>multinode</c>.</summary>
    public required string Type { get; init; }

    public int? SchedulingPriority { get; init; }

    public IReadOnlyDictionary<string, string> Parameters { get; init => field = value ?? ReadOnlyDictionary<string, string>.Empty; } = ReadOnlyDictionary<string, string>.Empty;

    public RetryStrategy? RetryStrategy { get; init; }

    public ContainerProperties? ContainerProperties { get; init; }

    public JobTimeout? Timeout { get; init; }

    public IReadOnlyDictionary<string, string> Tags { get; init => field = value ?? ReadOnlyDictionary<string, string>.Empty; } = ReadOnlyDictionary<string, string>.Empty;

    public bool? PropagateTags { get; init; }

    public IReadOnlyList<string> PlatformCapabilities { get; init => field = value ?? []; } = [];

    /// <summary><c>ECS</c> or <c>EKS</c>.</summary>
    public string? ContainerOrchestrationType { get; init; }
}

/// <summary>Model shape <c>ContainerProperties</c>.</summary>
public sealed record ContainerProperties
{
    public string? Image { get; init; }

    public int? Vcpus { get; init; }

    public int? Memory { get; init; }

    public IReadOnlyList<string> Command { get; init => field = value ?? []; } = [];

    public string? JobRoleArn { get; init; }

    public string? ExecutionRoleArn { get; init; }

    public IReadOnlyList<EnvironmentVariable> Environment { get; init => field = value ?? []; } = [];

    public bool? ReadonlyRootFilesystem { get; init; }

    public bool? Privileged { get; init; }

    public string? User { get; init; }

    public string? InstanceType { get; init; }

    public IReadOnlyList<ResourceRequirement> ResourceRequirements { get; init => field = value ?? []; } = [];

    public LogConfiguration? LogConfiguration { get; init; }
}

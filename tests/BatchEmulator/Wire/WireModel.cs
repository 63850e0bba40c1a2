using System.Text.Json;

namespace Batchkeeper.BatchEmulator.Wire;

// The shapes of batch-2016-08-10.service-2.json that the emulator reads and writes, member names as
// in the model (camelCase through Json.Wire). Null members are omitted on the wire.

internal sealed class SubmitJobRequest
{
    public string? JobName { get; set; }
    public string? JobQueue { get; set; }
    public string? JobDefinition { get; set; }
    public string? ShareIdentifier { get; set; }
    public int? SchedulingPriorityOverride { get; set; }
    public JsonElement? ArrayProperties { get; set; }
    public List<JobDependency>? DependsOn { get; set; }
    public Dictionary<string, string>? Parameters { get; set; }
    public ContainerOverrides? ContainerOverrides { get; set; }
    public JsonElement? NodeOverrides { get; set; }
    public RetryStrategy? RetryStrategy { get; set; }
    public bool? PropagateTags { get; set; }
    public JobTimeout? Timeout { get; set; }
    public Dictionary<string, string>? Tags { get; set; }
    public JsonElement? EksPropertiesOverride { get; set; }
    public JsonElement? EcsPropertiesOverride { get; set; }
}

internal sealed class SubmitJobResponse
{
    public required string JobArn { get; init; }
    public required string JobName { get; init; }
    public required string JobId { get; init; }
}

internal sealed class DescribeJobsRequest
{
    public List<string>? Jobs { get; set; }
}

internal sealed class DescribeJobsResponse
{
    public required List<JobDetail> Jobs { get; init; }
}

internal sealed class ListJobsRequest
{
    public string? JobQueue { get; set; }
    public string? ArrayJobId { get; set; }
    public string? MultiNodeJobId { get; set; }
    public string? JobStatus { get; set; }
    public int? MaxResults { get; set; }
    public string? NextToken { get; set; }
    public List<KeyValuesPair>? Filters { get; set; }
}

internal sealed class ListJobsResponse
{
    public required List<JobSummary> JobSummaryList { get; init; }
    public string? NextToken { get; init; }
}

internal sealed class KeyValuesPair
{
    public string? Name { get; set; }
    public List<string>? Values { get; set; }
}

internal sealed class JobIdAndReason
{
    public string? JobId { get; set; }
    public string? Reason { get; set; }
}

internal sealed class DescribeJobQueuesRequest
{
    public List<string>? JobQueues { get; set; }
    public int? MaxResults { get; set; }
    public string? NextToken { get; set; }
}

internal sealed class DescribeJobQueuesResponse
{
    public required List<JobQueueDetail> JobQueues { get; init; }
    public string? NextToken { get; init; }
}

internal sealed class DescribeJobDefinitionsRequest
{
    public List<string>? JobDefinitions { get; set; }
    public int? MaxResults { get; set; }
    public string? JobDefinitionName { get; set; }
    public string? Status { get; set; }
    public string? NextToken { get; set; }
}

internal sealed class DescribeJobDefinitionsResponse
{
    public required List<JobDefinition> JobDefinitions { get; init; }
    public string? NextToken { get; init; }
}

internal sealed class ErrorBody
{
    public required string Message { get; init; }
}

internal sealed class JobDependency
{
    public string? JobId { get; set; }
    public string? Type { get; set; }
}

internal sealed class ContainerOverrides
{
    public int? Vcpus { get; set; }
    public int? Memory { get; set; }
    public List<string>? Command { get; set; }
    public string? InstanceType { get; set; }
    public List<NameValue>? Environment { get; set; }
    public List<ResourceRequirement>? ResourceRequirements { get; set; }
}

/// <summary>Batch's KeyValuePair shape.</summary>
internal sealed class NameValue
{
    public string? Name { get; set; }
    public string? Value { get; set; }
}

internal sealed class ResourceRequirement
{
    public string? Value { get; set; }
    public string? Type { get; set; }
}

internal sealed class RetryStrategy
{
    public int? Attempts { get; set; }
    public List<EvaluateOnExit>? EvaluateOnExit { get; set; }
}

internal sealed class EvaluateOnExit
{
    public string? OnStatusReason { get; set; }
    public string? OnReason { get; set; }
    public string? OnExitCode { get; set; }
    public string? Action { get; set; }
}

internal sealed class JobTimeout
{
    public int? AttemptDurationSeconds { get; set; }
}

internal sealed class JobDetail
{
    public required string JobArn { get; init; }
    public required string JobName { get; init; }
    public required string JobId { get; init; }
    public required string JobQueue { get; init; }
    public required string Status { get; init; }
    public string? ShareIdentifier { get; init; }
    public int? SchedulingPriority { get; init; }
    public required List<AttemptDetail> Attempts { get; init; }
    public string? StatusReason { get; init; }
    public required long CreatedAt { get; init; }
    public RetryStrategy? RetryStrategy { get; init; }
    public long? StartedAt { get; init; }
    public long? StoppedAt { get; init; }
    public required List<JobDependency> DependsOn { get; init; }
    public required string JobDefinition { get; init; }
    public required Dictionary<string, string> Parameters { get; init; }
    public required ContainerDetail Container { get; init; }
    public JobTimeout? Timeout { get; init; }
    public Dictionary<string, string>? Tags { get; init; }
    public bool? PropagateTags { get; init; }
    public required List<string> PlatformCapabilities { get; init; }
    public bool IsCancelled { get; init; }
    public bool IsTerminated { get; init; }
}

internal sealed class ContainerDetail
{
    public string? Image { get; init; }
    public int? Vcpus { get; init; }
    public int? Memory { get; init; }
    public List<string>? Command { get; init; }
    public List<NameValue>? Environment { get; init; }
    public int? ExitCode { get; init; }
    public string? Reason { get; init; }
    public string? LogStreamName { get; init; }
    public List<ResourceRequirement>? ResourceRequirements { get; init; }
    public string? InstanceType { get; init; }
    public string? TaskArn { get; init; }
}

internal sealed class AttemptDetail
{
    public required AttemptContainerDetail Container { get; init; }
    public long? StartedAt { get; init; }
    public long? StoppedAt { get; init; }
    public string? StatusReason { get; init; }
}

internal sealed class AttemptContainerDetail
{
    public int? ExitCode { get; init; }
    public string? Reason { get; init; }
    public string? LogStreamName { get; init; }
    public string? TaskArn { get; init; }
}

internal sealed class JobSummary
{
    public required string JobArn { get; init; }
    public required string JobId { get; init; }
    public required string JobName { get; init; }
    public required long CreatedAt { get; init; }
    public required string Status { get; init; }
    public string? StatusReason { get; init; }
    public long? StartedAt { get; init; }
    public long? StoppedAt { get; init; }
    public ContainerSummary? Container { get; init; }
    public required string JobDefinition { get; init; }
}

internal sealed class ContainerSummary
{
    public int? ExitCode { get; init; }
    public string? Reason { get; init; }
}

internal sealed class JobQueueDetail
{
    public required string JobQueueName { get; init; }
    public required string JobQueueArn { get; init; }
    public required string State { get; init; }
    public required string Status { get; init; }
    public string? StatusReason { get; init; }
    public required int Priority { get; init; }
    public required List<ComputeEnvironmentOrder> ComputeEnvironmentOrder { get; init; }
    public required string JobQueueType { get; init; }
    public required Dictionary<string, string> Tags { get; init; }
}

internal sealed class ComputeEnvironmentOrder
{
    public required int Order { get; init; }
    public required string ComputeEnvironment { get; init; }
}

internal sealed class JobDefinition
{
    public required string JobDefinitionName { get; init; }
    public required string JobDefinitionArn { get; init; }
    public required int Revision { get; init; }
    public required string Status { get; init; }
    public required string Type { get; init; }
    public required Dictionary<string, string> Parameters { get; init; }
    public RetryStrategy? RetryStrategy { get; init; }
    public required ContainerProperties ContainerProperties { get; init; }
    public JobTimeout? Timeout { get; init; }
    public required Dictionary<string, string> Tags { get; init; }
    public required bool PropagateTags { get; init; }
    public required List<string> PlatformCapabilities { get; init; }
    public required string ContainerOrchestrationType { get; init; }
}

internal sealed class ContainerProperties
{
    public required string Image { get; init; }
    public required List<string> Command { get; init; }
    public required List<NameValue> Environment { get; init; }
    public required List<ResourceRequirement> ResourceRequirements { get; init; }
}

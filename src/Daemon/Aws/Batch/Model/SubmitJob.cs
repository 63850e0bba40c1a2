namespace Batchkeeper.Daemon.Aws.Batch.Model;

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

using System.Collections.ObjectModel;

namespace Batchkeeper.Daemon.Aws.Batch.Model;

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
public sealed record ContainerProperties : ContainerShape
{
    public bool? ReadonlyRootFilesystem { get; init; }

    public bool? Privileged { get; init; }

    public string? User { get; init; }

    public string? InstanceType { get; init; }

    public IReadOnlyList<ResourceRequirement> ResourceRequirements { get; init => field = value ?? []; } = [];

    public LogConfiguration? LogConfiguration { get; init; }
}

using System.Collections.ObjectModel;

namespace Batchkeeper.Daemon.Aws.Batch.Model;

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

    /// <summary>One of <see cref="Model.JobStatus"/>; Batch's default is RUNNING.</summary>
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

    /// <summary>One of <see cref="Model.JobStatus"/>.</summary>
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

using Batchkeeper.BatchEmulator.Wire;

namespace Batchkeeper.BatchEmulator;

internal static class JobStatus
{
    public const string Submitted = "SUBMITTED";
    public const string Pending = "PENDING";
    public const string Runnable = "RUNNABLE";
    public const string Starting = "STARTING";
    public const string Running = "RUNNING";
    public const string Succeeded = "SUCCEEDED";
    public const string Failed = "FAILED";

    public static IReadOnlyList<string> All { get; } = [Submitted, Pending, Runnable, Starting, Running, Succeeded, Failed];

    public static bool IsFinal(string status) => status is Succeeded or Failed;

    public static bool IsBeforeStarting(string status) => status is Submitted or Pending or Runnable;
}

internal sealed class QueueRecord(string name, string arn, int priority, string state)
{
    public string Name { get; } = name;
    public string Arn { get; } = arn;
    public int Priority { get; } = priority;
    public string State { get; } = state;
}

internal sealed class DefinitionRecord(JobDefinitionOptions options, string arn)
{
    public string Name { get; } = options.Name;
    public int Revision { get; } = options.Revision;
    public string Arn { get; } = arn;
    public string Image { get; } = options.Image;
    public IReadOnlyList<string> Command { get; } = [.. options.Command];
    public IReadOnlyList<KeyValuePair<string, string>> Environment { get; } = [.. options.Environment];
    public IReadOnlyDictionary<string, string> Parameters { get; } = new Dictionary<string, string>(options.Parameters, StringComparer.Ordinal);
    public IReadOnlyList<KeyValuePair<string, string>> Resources { get; } =
    [
        new("VCPU", options.Vcpus.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("MEMORY", options.MemoryMiB.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];
    public int? RetryAttempts { get; } = options.RetryAttempts;
    public int? TimeoutSeconds { get; } = options.TimeoutSeconds;
}

internal sealed record AttemptRecord(
    DateTimeOffset? StartedAt,
    DateTimeOffset StoppedAt,
    int? ExitCode,
    string? ContainerReason,
    string? StatusReason,
    string? LogStreamName,
    string? TaskArn);

/// <summary>One job's mutable state; every member is guarded by the store's lock.</summary>
internal sealed class JobRecord
{
    public required string Id { get; init; }

    /// <summary>Order of submission: ListJobs' tie-break between jobs created in the same millisecond.</summary>
    public required long Sequence { get; init; }
    public required string Arn { get; init; }
    public required string Name { get; init; }
    public required QueueRecord Queue { get; init; }
    public required DefinitionRecord Definition { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset VisibleAt { get; init; }
    public long CreatedAtMs => CreatedAt.ToUnixTimeMilliseconds();

    public required IReadOnlyList<string> DependsOn { get; init; }
    public required IReadOnlyList<JobDependency> DependsOnWire { get; init; }
    public required IReadOnlyDictionary<string, string> Parameters { get; init; }
    public required IReadOnlyDictionary<string, string> Tags { get; init; }
    public required bool TagsGiven { get; init; }
    public required IReadOnlyList<KeyValuePair<string, string>> Environment { get; init; }
    public required IReadOnlyList<string> Command { get; init; }
    public required IReadOnlyList<KeyValuePair<string, string>> Resources { get; init; }
    public int? Vcpus { get; init; }
    public int? Memory { get; init; }
    public string? InstanceType { get; init; }
    public RetryStrategy? Retry { get; init; }
    public JobTimeout? Timeout { get; init; }
    public bool? PropagateTags { get; init; }
    public string? ShareIdentifier { get; init; }
    public int? SchedulingPriority { get; init; }
    public required IReadOnlyList<string> Outputs { get; init; }

    public string Status { get; set; } = JobStatus.Submitted;
    public string? StatusReason { get; set; }
    public DateTimeOffset StateEnteredAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? StoppedAt { get; set; }
    public int? ExitCode { get; set; }
    public string? ContainerReason { get; set; }
    public string? LogStreamName { get; set; }
    public string? TaskArn { get; set; }
    public int AttemptCount { get; set; }
    public int NameAttempt { get; set; }
    public PlannedOutcome Plan { get; set; } = PlannedOutcome.Success;

    /// <summary>The run is over and outputs are being written; the job stays RUNNING meanwhile.</summary>
    public bool Finishing { get; set; }

    /// <summary>Set by <see cref="JobStore.EndRuns"/>: the current attempt's run is over at the next tick, whatever its duration.</summary>
    public bool EndRunRequested { get; set; }

    public bool IsCancelled { get; set; }
    public bool IsTerminated { get; set; }
    public List<AttemptRecord> Attempts { get; } = [];
    public List<EmulatedTransition> History { get; } = [];
}

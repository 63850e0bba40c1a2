using System.Text.Json.Serialization;

namespace Batchkeeper.BatchEmulator;

/// <summary>
/// A snapshot of one job as the emulator holds it (including jobs still hidden by the visibility
/// delay). Served by <c>GET /_emulator/jobs</c> and passed to <see cref="BatchEmulatorOptions.OnSucceeded"/>.
/// </summary>
public sealed record EmulatedJob
{
    /// <summary>Job id (a GUID, as Batch's).</summary>
    public required string JobId { get; init; }

    /// <summary>Job ARN.</summary>
    public required string JobArn { get; init; }

    /// <summary>Job name as submitted.</summary>
    public required string JobName { get; init; }

    /// <summary>Queue name.</summary>
    public required string JobQueue { get; init; }

    /// <summary>Queue ARN.</summary>
    public required string JobQueueArn { get; init; }

    /// <summary>Job definition ARN with revision.</summary>
    public required string JobDefinitionArn { get; init; }

    /// <summary>SUBMITTED, PENDING, RUNNABLE, STARTING, RUNNING, SUCCEEDED or FAILED.</summary>
    public required string Status { get; init; }

    /// <summary>Batch's statusReason, if any.</summary>
    public string? StatusReason { get; init; }

    /// <summary>When SubmitJob accepted it.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the current (or last) attempt reached RUNNING.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When it reached SUCCEEDED or FAILED.</summary>
    public DateTimeOffset? StoppedAt { get; init; }

    /// <summary>Container exit code of the last attempt.</summary>
    public int? ExitCode { get; init; }

    /// <summary>Container reason of the last attempt.</summary>
    public string? ContainerReason { get; init; }

    /// <summary>Log stream of the current attempt (set on RUNNING).</summary>
    public string? LogStreamName { get; init; }

    /// <summary>Ids of the jobs this one depends on.</summary>
    public IReadOnlyList<string> DependsOn { get; init; } = [];

    /// <summary>Parameters in force (definition's, overridden by the job's).</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();

    /// <summary>Container environment in force (definition's, overridden by the job's).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Container command in force, after <c>Ref::</c> substitution.</summary>
    public IReadOnlyList<string> Command { get; init; } = [];

    /// <summary>Resource requirements in force, by type (VCPU, MEMORY, GPU).</summary>
    public IReadOnlyDictionary<string, string> ResourceRequirements { get; init; } = new Dictionary<string, string>();

    /// <summary>Tags given to SubmitJob.</summary>
    public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>();

    /// <summary>The URIs of <c>BATCHKEEPER_OUTPUTS</c> (one a line), empty when it is absent.</summary>
    public IReadOnlyList<string> Outputs { get; init; } = [];

    /// <summary>Attempts started for this job (Batch's own retries count).</summary>
    public int AttemptCount { get; init; }

    /// <summary>
    /// Ordinal of this job's current attempt among all attempts of jobs with the same name, the
    /// counter that <see cref="JobFaultRule.FirstAttempts"/> uses. Zero before the first start.
    /// </summary>
    public int NameAttempt { get; init; }

    /// <summary>Whether CancelJob (or TerminateJob before STARTING) stopped it.</summary>
    public bool IsCancelled { get; init; }

    /// <summary>Whether TerminateJob stopped it.</summary>
    public bool IsTerminated { get; init; }

    /// <summary>Finished attempts, oldest first.</summary>
    public IReadOnlyList<EmulatedAttempt> Attempts { get; init; } = [];

    /// <summary>Every status the job entered, with the time, oldest first (a Batch retry shows RUNNABLE again).</summary>
    public IReadOnlyList<EmulatedTransition> History { get; init; } = [];

    /// <summary>Whether DescribeJobs and ListJobs can see it yet.</summary>
    public bool Visible { get; init; }

    /// <summary>Whether the job reached SUCCEEDED or FAILED.</summary>
    [JsonIgnore]
    public bool IsFinal => Status is "SUCCEEDED" or "FAILED";
}

/// <summary>One finished attempt of a job.</summary>
public sealed record EmulatedAttempt(
    DateTimeOffset? StartedAt,
    DateTimeOffset StoppedAt,
    int? ExitCode,
    string? ContainerReason,
    string? StatusReason,
    string? LogStreamName);

/// <summary>A job's entry into a status.</summary>
public sealed record EmulatedTransition(string Status, DateTimeOffset At);

/// <summary>One request to the Batch API as the emulator received it.</summary>
public sealed record RecordedRequest
{
    /// <summary>Order of arrival, from 1.</summary>
    public required long Sequence { get; init; }

    /// <summary>Operation, e.g. <c>SubmitJob</c>; the raw path segment if it is not one the emulator knows.</summary>
    public required string Operation { get; init; }

    /// <summary>Request path as sent.</summary>
    public required string Path { get; init; }

    /// <summary>When it arrived.</summary>
    public required DateTimeOffset ReceivedAt { get; init; }

    /// <summary>Request body as sent.</summary>
    public required string Body { get; init; }

    /// <summary>Whether it carried an <c>Authorization: AWS4-HMAC-SHA256 …</c> header (never verified).</summary>
    public required bool IsSigned { get; init; }

    /// <summary>The <c>X-Amz-Security-Token</c> header as sent (temporary credentials), or null.</summary>
    public string? SessionToken { get; init; }

    /// <summary>The <c>Content-Type</c> header as sent.</summary>
    public string? ContentType { get; init; }

    /// <summary>HTTP status answered (0 when the client went away first).</summary>
    public int StatusCode { get; init; }

    /// <summary>The <c>x-amzn-ErrorType</c> answered, if any.</summary>
    public string? ErrorType { get; init; }

    /// <summary>The injected fault, if any: Throttle, ServerError, StallBefore or StallAfter.</summary>
    public string? Fault { get; init; }

    /// <summary>Time from arrival to the end of the answer.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>The body parsed as JSON (an Undefined element when it is not JSON).</summary>
    [JsonIgnore]
    public System.Text.Json.JsonElement BodyJson
    {
        get
        {
            try
            {
                using var document = System.Text.Json.JsonDocument.Parse(Body);
                return document.RootElement.Clone();
            }
            catch (System.Text.Json.JsonException)
            {
                return default;
            }
        }
    }
}

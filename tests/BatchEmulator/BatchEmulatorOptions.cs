using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace Batchkeeper.BatchEmulator;

/// <summary>
/// Settings of one emulator instance. Durations are real (wall-clock) time; the defaults keep a
/// job without dependencies from SUBMITTED to SUCCEEDED in roughly 300 ms.
/// </summary>
public sealed partial class BatchEmulatorOptions
{
    /// <summary>TCP port on 127.0.0.1. Default 0: chosen by the system at start.</summary>
    public int Port { get; set; }

    /// <summary>Region used in ARNs. Default <c>us-east-1</c>.</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>Account id used in ARNs. Default <c>123456789012</c>.</summary>
    public string AccountId { get; set; } = "123456789012";

    /// <summary>Time a job stays SUBMITTED before it moves to PENDING. Default 50 ms.</summary>
    public TimeSpan SubmittedDuration { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Least time a job stays PENDING; it stays longer while any <c>dependsOn</c> job has not
    /// SUCCEEDED. Default 50 ms.
    /// </summary>
    public TimeSpan PendingDuration { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Time a job stays RUNNABLE before STARTING (if a run slot is free). Default 50 ms.</summary>
    public TimeSpan RunnableDuration { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Time a job stays STARTING before RUNNING. Default 50 ms.</summary>
    public TimeSpan StartingDuration { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Time a job stays RUNNING (one attempt) before it succeeds or fails; a fault rule may set
    /// another duration per job. Default 100 ms.
    /// </summary>
    public TimeSpan RunDuration { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How often the state machine looks at active jobs. Default 10 ms.</summary>
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// How long a job is invisible to DescribeJobs and ListJobs after SubmitJob returned, as real
    /// Batch's eventual consistency can make it. Default zero.
    /// </summary>
    public TimeSpan DescribeVisibilityDelay { get; set; }

    /// <summary>
    /// Most jobs in STARTING or RUNNING at once (a compute environment's capacity); others wait in
    /// RUNNABLE. Default null: no limit.
    /// </summary>
    public int? MaxRunningJobs { get; set; }

    /// <summary>
    /// When true, SubmitJob with a queue or job definition that is not configured fails with a
    /// ClientException as real Batch does. When false (default) an unknown queue or definition is
    /// registered on first use.
    /// </summary>
    public bool Strict { get; set; }

    /// <summary>Known job queues, returned by DescribeJobQueues.</summary>
    public IList<JobQueueOptions> JobQueues { get; } = new List<JobQueueOptions>();

    /// <summary>Known job definitions, returned by DescribeJobDefinitions.</summary>
    public IList<JobDefinitionOptions> JobDefinitions { get; } = new List<JobDefinitionOptions>();

    /// <summary>
    /// S3 endpoint (e.g. s3rver) to which a succeeding job PUTs one small object for every URI in
    /// its <c>BATCHKEEPER_OUTPUTS</c> environment variable. Default null: nothing is written.
    /// </summary>
    public Uri? S3ServiceUrl { get; set; }

    /// <summary>S3 access key. Default <c>S3RVER</c> (what s3rver accepts).</summary>
    public string S3AccessKey { get; set; } = "S3RVER";

    /// <summary>S3 secret key. Default <c>S3RVER</c>.</summary>
    public string S3SecretKey { get; set; } = "S3RVER";

    /// <summary>S3 signing region. Default <c>us-east-1</c>.</summary>
    public string S3Region { get; set; } = "us-east-1";

    /// <summary>
    /// Called when an attempt's run is over and it is about to SUCCEED, after the S3 outputs (if
    /// any) were written. An exception makes the attempt FAIL with the exception's message as the
    /// container reason. Default null.
    /// </summary>
    public Func<EmulatedJob, CancellationToken, Task>? OnSucceeded { get; set; }

    /// <summary>The CloudWatch Logs group the jobs' streams live in (GetLogEvents on another group: not found). Default <c>/aws/batch/job</c>, Batch's.</summary>
    public string LogGroup { get; set; } = "/aws/batch/job";

    /// <summary>Most events GetLogEvents returns in one page (the service's own cap is 10 000). Small values make tests page.</summary>
    public int LogEventsPageSize { get; set; } = 10_000;

    /// <summary>
    /// Name of an SQS queue, served at <c>POST /</c> of the emulator's address (AWS JSON 1.0, <c>X-Amz-Target: AmazonSQS.*</c>),
    /// that receives a "Batch Job State Change" event for every state change after SUBMITTED of the jobs
    /// <see cref="EventRule"/> matches. Its URL is <see cref="BatchEmulator.EventsQueueUrl"/>,
    /// <c>http://127.0.0.1:PORT/ACCOUNT/NAME</c>. Default null: no queue, no events.
    /// </summary>
    public string? EventsQueue { get; set; }

    /// <summary>The events queue's default visibility timeout. Default 30 s (SQS's).</summary>
    public TimeSpan EventsQueueVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Which jobs' events reach the events queue, as an EventBridge rule's pattern narrows them. Default: every job.</summary>
    public EventRuleOptions EventRule { get; } = new();

    /// <summary>Faults in force from the start (they can be changed later). Default none.</summary>
    public FaultSettings? Faults { get; set; }

    /// <summary>
    /// Most requests kept in the request log; the oldest are dropped beyond it. Default 100 000.
    /// </summary>
    public int MaxRecordedRequests { get; set; } = 100_000;

    /// <summary>Clock for timestamps and state durations. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Logging of the emulator's host. Default null: no logging at all.</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; set; }

    /// <summary>Every problem with these options, empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (LogEventsPageSize is < 1 or > 10_000)
        {
            problems.Add($"LogEventsPageSize must be between 1 and 10000 (it is {LogEventsPageSize}).");
        }

        if (Port is < 0 or > 65535)
        {
            problems.Add($"Port must be 0..65535 (got {Port}).");
        }

        foreach (var (name, value) in new[]
                 {
                     (nameof(SubmittedDuration), SubmittedDuration), (nameof(PendingDuration), PendingDuration),
                     (nameof(RunnableDuration), RunnableDuration), (nameof(StartingDuration), StartingDuration),
                     (nameof(RunDuration), RunDuration), (nameof(DescribeVisibilityDelay), DescribeVisibilityDelay),
                 })
        {
            if (value < TimeSpan.Zero)
            {
                problems.Add($"{name} must not be negative (got {value}).");
            }
        }

        if (TickInterval <= TimeSpan.Zero)
        {
            problems.Add($"TickInterval must be positive (got {TickInterval}).");
        }

        if (MaxRunningJobs is < 1)
        {
            problems.Add($"MaxRunningJobs must be at least 1 when set (got {MaxRunningJobs}).");
        }

        if (MaxRecordedRequests < 0)
        {
            problems.Add($"MaxRecordedRequests must not be negative (got {MaxRecordedRequests}).");
        }

        if (S3ServiceUrl is { IsAbsoluteUri: false })
        {
            problems.Add($"S3ServiceUrl must be an absolute URI (got {S3ServiceUrl}).");
        }

        foreach (var queue in JobQueues)
        {
            if (string.IsNullOrWhiteSpace(queue.Name))
            {
                problems.Add("Every job queue needs a Name.");
            }
        }

        foreach (var definition in JobDefinitions)
        {
            if (string.IsNullOrWhiteSpace(definition.Name) || definition.Name.Contains(':', StringComparison.Ordinal))
            {
                problems.Add($"Job definition name '{definition.Name}' must be non-empty and hold no ':' (the revision is separate).");
            }

            if (definition.Revision < 1)
            {
                problems.Add($"Job definition '{definition.Name}' revision must be at least 1 (got {definition.Revision}).");
            }
        }

        if (Faults is not null)
        {
            problems.AddRange(Faults.Validate());
        }

        if (EventsQueue is not null && !QueueNamePattern().IsMatch(EventsQueue))
        {
            problems.Add($"EventsQueue '{EventsQueue}' must be 1-80 letters, digits, '-' or '_' (a standard queue's name).");
        }

        if (EventsQueueVisibilityTimeout < TimeSpan.Zero || EventsQueueVisibilityTimeout > TimeSpan.FromHours(12))
        {
            problems.Add($"EventsQueueVisibilityTimeout must be between 0 and 12 hours (got {EventsQueueVisibilityTimeout}).");
        }

        return problems;
    }

    /// <summary>The ARN of the job queue of this name.</summary>
    internal string JobQueueArn(string name) => $"arn:aws:batch:{Region}:{AccountId}:job-queue/{name}";

    [GeneratedRegex("^[A-Za-z0-9_-]{1,80}$", RegexOptions.CultureInvariant)]
    private static partial Regex QueueNamePattern();
}

/// <summary>
/// The event pattern of the EventBridge rule that feeds the events queue:
/// <c>{"detail":{"jobQueue":[…],"jobName":[{"prefix":"…"}]}}</c>. Empty: every job's events.
/// </summary>
public sealed class EventRuleOptions
{
    /// <summary>Job queues (names or ARNs) whose jobs' events pass. Default empty: any queue.</summary>
    public IList<string> JobQueues { get; } = new List<string>();

    /// <summary>Only jobs whose name starts with this (e.g. <c>bk-</c>). Default null: any name.</summary>
    public string? JobNamePrefix { get; set; }
}

/// <summary>A job queue the emulator knows.</summary>
public sealed class JobQueueOptions
{
    /// <summary>Queue name (not the ARN).</summary>
    public required string Name { get; set; }

    /// <summary>Priority shown by DescribeJobQueues. Default 1.</summary>
    public int Priority { get; set; } = 1;

    /// <summary><c>ENABLED</c> (default) or <c>DISABLED</c>; SubmitJob to a disabled queue is a ClientException.</summary>
    public string State { get; set; } = "ENABLED";
}

/// <summary>A job definition revision the emulator knows.</summary>
public sealed class JobDefinitionOptions
{
    /// <summary>Definition name without revision.</summary>
    public required string Name { get; set; }

    /// <summary>Revision. Default 1.</summary>
    public int Revision { get; set; } = 1;

    /// <summary>Container image. Default <c>public.ecr.aws/docker/library/busybox:latest</c>.</summary>
    public string Image { get; set; } = "public.ecr.aws/docker/library/busybox:latest";

    /// <summary>vCPUs (as a VCPU resource requirement). Default 1.</summary>
    public int Vcpus { get; set; } = 1;

    /// <summary>Memory in MiB (as a MEMORY resource requirement). Default 2048.</summary>
    public int MemoryMiB { get; set; } = 2048;

    /// <summary>Default command; <c>Ref::name</c> is replaced by the job's parameter. Default empty.</summary>
    public IList<string> Command { get; } = new List<string>();

    /// <summary>Default environment of the container.</summary>
    public IDictionary<string, string> Environment { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Default parameters; SubmitJob's parameters override them.</summary>
    public IDictionary<string, string> Parameters { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Default retry attempts (Batch's retryStrategy.attempts). Default null: one attempt.</summary>
    public int? RetryAttempts { get; set; }

    /// <summary>Default attempt timeout in seconds. Default null.</summary>
    public int? TimeoutSeconds { get; set; }
}

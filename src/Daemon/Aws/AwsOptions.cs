using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Aws;

/// <summary>
/// Settings for the AWS backend, bound from the configuration section <c>Batchkeeper:Aws</c>
/// (environment variables <c>Batchkeeper__Aws__…</c>). Every AWS service client (Batch, CloudWatch Logs,
/// S3) reads its retry, timeout and rate settings from here; each service gets its own rate limiter and
/// retry policy built from them.
/// </summary>
public sealed class AwsOptions
{
    /// <summary>The configuration section these options are bound from: <c>Batchkeeper:Aws</c>.</summary>
    public const string SectionName = "Batchkeeper:Aws";

    /// <summary>
    /// The AWS region, e.g. <c>us-east-1</c>. Default: <c>null</c>, meaning the environment variable
    /// <c>AWS_REGION</c>, else <c>AWS_DEFAULT_REGION</c>, else the region of the AWS profile
    /// (<c>AWS_PROFILE</c> in <c>~/.aws/config</c>) or of the EC2 instance. Without any of them the
    /// client refuses to start with a message that names these places.
    /// </summary>
    public string? Region { get; set; }

    /// <summary>
    /// The Batch endpoint, e.g. <c>http://127.0.0.1:8000</c> for an emulator. Default: <c>null</c>,
    /// meaning <c>https://batch.{region}.amazonaws.com</c> (<c>amazonaws.com.cn</c> in China regions).
    /// Requests are still signed for <see cref="Region"/>.
    /// </summary>
    public string? BatchServiceUrl { get; set; }

    /// <summary>The S3 endpoint, e.g. <c>http://127.0.0.1:4568</c>. Default: <c>null</c>, the regional AWS endpoint.</summary>
    public string? S3ServiceUrl { get; set; }

    /// <summary>Whether S3 requests use path-style addressing (needed by most S3 emulators). Default: <c>false</c>.</summary>
    public bool S3ForcePathStyle { get; set; }

    /// <summary>
    /// The SQS queue an EventBridge rule fills with Batch's "Batch Job State Change" events, e.g.
    /// <c>https://sqs.us-east-1.amazonaws.com/123456789012/batchkeeper-events</c>. Default: <c>null</c>, no events: job
    /// states are polled (ListJobs or DescribeJobs per queue, whichever costs fewer requests).
    /// </summary>
    public string? EventsQueueUrl { get; set; }

    /// <summary>The SQS endpoint, e.g. <c>http://127.0.0.1:8000</c> for an emulator. Default: <c>null</c>, the regional AWS endpoint.</summary>
    public string? SqsServiceUrl { get; set; }

    /// <summary>
    /// With events, how often every job is described again anyway (besides at start-up), to make up for events lost on
    /// the way. Default: 10 minutes. From 1 second to 1 day.
    /// </summary>
    public TimeSpan EventsResyncInterval { get; set; } = DefaultEventsResyncInterval;

    /// <summary>
    /// The CloudWatch Logs endpoint <c>batchkeeper logs</c> reads job output from, e.g. <c>http://127.0.0.1:8000</c>.
    /// Default: <c>null</c>, meaning <c>https://logs.{region}.amazonaws.com</c>.
    /// </summary>
    public string? LogsServiceUrl { get; set; }

    /// <summary>
    /// The log group Batch jobs write to: Batch's default <c>/aws/batch/job</c> unless the job definitions set
    /// <c>awslogs-group</c> in their <c>logConfiguration</c>.
    /// </summary>
    public string LogGroup { get; set; } = DefaultLogGroup;

    /// <summary>
    /// The most requests per second sent to one AWS service, retries included; shared by every request to
    /// that service. Bursts of up to one second's worth are allowed. Default: 20. Must be at least 1.
    /// </summary>
    public int MaxRequestsPerSecond { get; set; } = DefaultMaxRequestsPerSecond;

    /// <summary>
    /// The most requests per second sent to S3 (existence checks of outputs), the SDK's retries included. S3 serves
    /// thousands per second per prefix; the limit keeps a daemon of many workflows from flooding an S3-compatible
    /// server. Default: 200. Must be at least 1.
    /// </summary>
    public int S3MaxRequestsPerSecond { get; set; } = DefaultS3MaxRequestsPerSecond;

    /// <summary>
    /// The most attempts for one request, the first included, before its error is reported. Only
    /// throttling (HTTP 429), HTTP 500/502/503/504, timeouts and dropped connections are retried.
    /// Default: 5. Must be at least 1.
    /// </summary>
    public int MaxAttempts { get; set; } = DefaultMaxAttempts;

    /// <summary>
    /// How long one attempt may take, from sending the request to the last byte of the response,
    /// before it is abandoned and retried. Default: 30 seconds. Must be positive.
    /// </summary>
    public TimeSpan AttemptTimeout { get; set; } = DefaultAttemptTimeout;

    /// <summary>
    /// The backoff before the first retry; each later retry doubles it, up to <see cref="RetryMaxDelay"/>.
    /// The delay actually waited is a uniformly random fraction of that ("full jitter"). Default: 500 ms.
    /// </summary>
    public TimeSpan RetryBaseDelay { get; set; } = DefaultRetryBaseDelay;

    /// <summary>
    /// The cap on one backoff delay, and on the wait a <c>Retry-After</c> header asks for (which replaces the backoff).
    /// Default: 20 seconds. Must not be below <see cref="RetryBaseDelay"/>.
    /// </summary>
    public TimeSpan RetryMaxDelay { get; set; } = DefaultRetryMaxDelay;

    internal static readonly TimeSpan DefaultEventsResyncInterval = TimeSpan.FromMinutes(10);
    internal const string DefaultLogGroup = "/aws/batch/job";
    internal const int DefaultMaxRequestsPerSecond = 20;
    internal const int DefaultS3MaxRequestsPerSecond = 200;
    internal const int DefaultMaxAttempts = 5;
    internal static readonly TimeSpan DefaultAttemptTimeout = TimeSpan.FromSeconds(30);
    internal static readonly TimeSpan DefaultRetryBaseDelay = TimeSpan.FromMilliseconds(500);
    internal static readonly TimeSpan DefaultRetryMaxDelay = TimeSpan.FromSeconds(20);
}

/// <summary>Checks <see cref="AwsOptions"/> and reports every problem at once.</summary>
internal sealed class AwsOptionsValidator : IValidateOptions<AwsOptions>
{
    public ValidateOptionsResult Validate(string? name, AwsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        var section = AwsOptions.SectionName;

        if (!string.IsNullOrWhiteSpace(options.Region) && !AwsRegionResolver.IsWellFormed(options.Region.Trim()))
        {
            problems.Add($"{section}:Region '{options.Region}' is not a region name like 'us-east-1'.");
        }

        CheckUrl(options.BatchServiceUrl, nameof(AwsOptions.BatchServiceUrl), problems);
        CheckUrl(options.S3ServiceUrl, nameof(AwsOptions.S3ServiceUrl), problems);
        CheckUrl(options.LogsServiceUrl, nameof(AwsOptions.LogsServiceUrl), problems);
        CheckUrl(options.SqsServiceUrl, nameof(AwsOptions.SqsServiceUrl), problems);
        CheckUrl(options.EventsQueueUrl, nameof(AwsOptions.EventsQueueUrl), problems);
        if (options.EventsResyncInterval < TimeSpan.FromSeconds(1) || options.EventsResyncInterval > TimeSpan.FromDays(1))
        {
            problems.Add($"{section}:EventsResyncInterval must be from 1 second to 1 day (it is {options.EventsResyncInterval}).");
        }

        if (string.IsNullOrWhiteSpace(options.LogGroup))
        {
            problems.Add($"{section}:LogGroup must not be empty (Batch's default is {AwsOptions.DefaultLogGroup}).");
        }

        if (options.MaxRequestsPerSecond < 1)
        {
            problems.Add($"{section}:MaxRequestsPerSecond must be at least 1 (it is {options.MaxRequestsPerSecond}).");
        }

        if (options.S3MaxRequestsPerSecond < 1)
        {
            problems.Add($"{section}:S3MaxRequestsPerSecond must be at least 1 (it is {options.S3MaxRequestsPerSecond}).");
        }

        if (options.MaxAttempts < 1)
        {
            problems.Add($"{section}:MaxAttempts must be at least 1 (it is {options.MaxAttempts}).");
        }

        if (options.AttemptTimeout <= TimeSpan.Zero)
        {
            problems.Add($"{section}:AttemptTimeout must be positive (it is {options.AttemptTimeout}).");
        }

        if (options.RetryBaseDelay < TimeSpan.Zero)
        {
            problems.Add($"{section}:RetryBaseDelay must not be negative (it is {options.RetryBaseDelay}).");
        }

        if (options.RetryMaxDelay < options.RetryBaseDelay)
        {
            problems.Add($"{section}:RetryMaxDelay ({options.RetryMaxDelay}) must not be below RetryBaseDelay ({options.RetryBaseDelay}).");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static void CheckUrl(string? value, string property, List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return;
        }

        if (AwsServiceEndpoint.ParseServiceUrl(value) is null)
        {
            problems.Add($"{AwsOptions.SectionName}:{property} '{value}' is not an absolute http:// or https:// URL.");
        }
    }
}

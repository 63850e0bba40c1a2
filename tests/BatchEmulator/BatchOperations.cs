namespace Batchkeeper.BatchEmulator;

/// <summary>The Batch operations the emulator serves, keyed by the lower-case path segment of <c>/v1/…</c>.</summary>
public static class BatchOperations
{
    /// <summary>SubmitJob.</summary>
    public const string SubmitJob = nameof(SubmitJob);

    /// <summary>DescribeJobs.</summary>
    public const string DescribeJobs = nameof(DescribeJobs);

    /// <summary>ListJobs.</summary>
    public const string ListJobs = nameof(ListJobs);

    /// <summary>TerminateJob.</summary>
    public const string TerminateJob = nameof(TerminateJob);

    /// <summary>CancelJob.</summary>
    public const string CancelJob = nameof(CancelJob);

    /// <summary>DescribeJobQueues.</summary>
    public const string DescribeJobQueues = nameof(DescribeJobQueues);

    /// <summary>DescribeJobDefinitions.</summary>
    public const string DescribeJobDefinitions = nameof(DescribeJobDefinitions);

    /// <summary>Every operation served.</summary>
    public static IReadOnlyList<string> All { get; } =
        [SubmitJob, DescribeJobs, ListJobs, TerminateJob, CancelJob, DescribeJobQueues, DescribeJobDefinitions];

    /// <summary>Whether <paramref name="operation"/> (any case) is served.</summary>
    public static bool IsKnown(string operation) => All.Contains(operation, StringComparer.OrdinalIgnoreCase);

    /// <summary>The operation for a request path segment such as <c>submitjob</c>, or null.</summary>
    public static string? FromPathSegment(string segment) =>
        All.FirstOrDefault(o => string.Equals(o, segment, StringComparison.OrdinalIgnoreCase));
}

/// <summary>The CloudWatch Logs operations the emulator serves (at <c>POST /</c>, by <c>X-Amz-Target</c>).</summary>
public static class LogsOperations
{
    /// <summary>GetLogEvents.</summary>
    public const string GetLogEvents = nameof(GetLogEvents);
}

/// <summary>
/// The SQS operations the emulator serves (at <c>POST /</c>, by <c>X-Amz-Target: AmazonSQS.&lt;operation&gt;</c>). Their
/// requests are kept in a log of their own: <see cref="BatchEmulator.SqsRequests"/>.
/// </summary>
public static class SqsOperations
{
    /// <summary>ReceiveMessage (long polling up to 20 s).</summary>
    public const string ReceiveMessage = nameof(ReceiveMessage);

    /// <summary>DeleteMessage.</summary>
    public const string DeleteMessage = nameof(DeleteMessage);

    /// <summary>DeleteMessageBatch.</summary>
    public const string DeleteMessageBatch = nameof(DeleteMessageBatch);

    /// <summary>ChangeMessageVisibility.</summary>
    public const string ChangeMessageVisibility = nameof(ChangeMessageVisibility);

    /// <summary>ChangeMessageVisibilityBatch.</summary>
    public const string ChangeMessageVisibilityBatch = nameof(ChangeMessageVisibilityBatch);

    /// <summary>GetQueueAttributes.</summary>
    public const string GetQueueAttributes = nameof(GetQueueAttributes);

    /// <summary>GetQueueUrl.</summary>
    public const string GetQueueUrl = nameof(GetQueueUrl);

    /// <summary>ListQueues.</summary>
    public const string ListQueues = nameof(ListQueues);

    /// <summary>SendMessage (a test's own message, e.g. a foreign event).</summary>
    public const string SendMessage = nameof(SendMessage);

    /// <summary>PurgeQueue.</summary>
    public const string PurgeQueue = nameof(PurgeQueue);

    /// <summary>Every operation served.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        ReceiveMessage, DeleteMessage, DeleteMessageBatch, ChangeMessageVisibility, ChangeMessageVisibilityBatch,
        GetQueueAttributes, GetQueueUrl, ListQueues, SendMessage, PurgeQueue,
    ];

    /// <summary>Whether <paramref name="operation"/> (any case) is served; on the wire the target's case must be exact.</summary>
    public static bool IsKnown(string operation) => All.Contains(operation, StringComparer.OrdinalIgnoreCase);
}

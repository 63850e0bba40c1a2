using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Batchkeeper.BatchEmulator.Wire;

namespace Batchkeeper.BatchEmulator;

/// <summary>One "Batch Job State Change" event the emulator published (whatever became of it).</summary>
/// <param name="EventId">The envelope's <c>id</c> (a duplicate carries the same).</param>
/// <param name="Attempts">Length of <c>detail.attempts</c>: finished attempts.</param>
/// <param name="Dropped">Lost on the way (<see cref="EventFaultSettings.DropRate"/>): never enqueued.</param>
/// <param name="Duplicated">Enqueued twice.</param>
/// <param name="Held">Held back for reordering (a job has one event held at most: the draw is ignored while another is).</param>
public sealed record EmulatedJobEvent(
    string EventId, string JobId, string JobName, string Status, int Attempts, DateTimeOffset At, bool Dropped, bool Duplicated, bool Held);

/// <summary>
/// EventBridge between the state machine and the events queue: every state change after SUBMITTED of a job the rule
/// matches becomes a "Batch Job State Change" event (the envelope of shared/aws/batch-events.md, <c>detail</c> as
/// DescribeJobs' JobDetail), which the event faults may drop, duplicate, hold back or delay. Called under the job
/// store's lock, so events of one job are published in the order of its changes.
/// </summary>
internal sealed class JobEvents(BatchEmulatorOptions options, EmulatedQueue queue, EmulatorFaults faults)
{
    public const string DetailType = "Batch Job State Change";

    private readonly Lock _gate = new();
    private readonly LinkedList<EmulatedJobEvent> _sent = new();
    private readonly HashSet<string> _queueArns =
        [.. options.EventRule.JobQueues.Select(q => q.StartsWith("arn:", StringComparison.Ordinal) ? q : options.JobQueueArn(q))];

    public EmulatedQueue Queue { get; } = queue;

    public IReadOnlyList<EmulatedJobEvent> Sent
    {
        get
        {
            lock (_gate)
            {
                return [.. _sent];
            }
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _sent.Clear();
        }
    }

    public void Publish(JobDetail detail, DateTimeOffset at)
    {
        if (_queueArns.Count > 0 && !_queueArns.Contains(detail.JobQueue) ||
            options.EventRule.JobNamePrefix is { } prefix && !detail.JobName.StartsWith(prefix, StringComparison.Ordinal))
        {
            return;
        }

        var decision = faults.DecideEvent();
        var id = Guid.NewGuid().ToString();
        var held = false;
        if (!decision.Drop)
        {
            var body = JsonSerializer.Serialize(
                new JobStateChangeEvent
                {
                    Id = id,
                    Account = options.AccountId,
                    Time = at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                    Region = options.Region,
                    Resources = [detail.JobArn],
                    Detail = detail,
                },
                Json.Wire);
            held = Queue.EnqueueInGroup(body, decision.Delay, detail.JobArn, decision.Hold, decision.HoldFor);
            if (decision.Duplicate)
            {
                Queue.Enqueue(body, decision.Delay + decision.DuplicateLag);
            }
        }

        Record(new EmulatedJobEvent(
            id, detail.JobId, detail.JobName, detail.Status, detail.Attempts.Count, at, decision.Drop, decision.Duplicate && !decision.Drop, held));
    }

    private void Record(EmulatedJobEvent sent)
    {
        lock (_gate)
        {
            _sent.AddLast(sent);
            while (_sent.Count > Math.Max(options.MaxRecordedRequests, 1))
            {
                _sent.RemoveFirst();
            }
        }
    }

    /// <summary>EventBridge's envelope; member names as EventBridge writes them.</summary>
    private sealed class JobStateChangeEvent
    {
        [JsonPropertyName("version")]
        public string Version { get; } = "0";

        [JsonPropertyName("id")]
        public required string Id { get; init; }

        [JsonPropertyName("detail-type")]
        public string Type { get; } = DetailType;

        [JsonPropertyName("source")]
        public string Source { get; } = "aws.batch";

        [JsonPropertyName("account")]
        public required string Account { get; init; }

        [JsonPropertyName("time")]
        public required string Time { get; init; }

        [JsonPropertyName("region")]
        public required string Region { get; init; }

        [JsonPropertyName("resources")]
        public required IReadOnlyList<string> Resources { get; init; }

        [JsonPropertyName("detail")]
        public required JobDetail Detail { get; init; }
    }
}

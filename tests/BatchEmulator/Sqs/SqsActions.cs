using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Batchkeeper.BatchEmulator.Sqs;

/// <summary>The operations themselves: the request's members in, the answer's members out, SQS's limits and messages.</summary>
internal sealed partial class SqsApi
{
    private const int MaxVisibilitySeconds = 43_200;
    private const int MaxDelaySeconds = 900;
    private const int MaxBodyBytes = 262_144;
    private const int MaxBatchEntries = 10;

    /// <summary>The queue attributes SQS knows; the ones the emulator has no value for are accepted and left out.</summary>
    private static readonly HashSet<string> KnownQueueAttributes = new(StringComparer.Ordinal)
    {
        "All", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed",
        "VisibilityTimeout", "ReceiveMessageWaitTimeSeconds", "DelaySeconds", "MessageRetentionPeriod", "MaximumMessageSize",
        "QueueArn", "CreatedTimestamp", "LastModifiedTimestamp", "Policy", "RedrivePolicy", "RedriveAllowPolicy",
        "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled", "FifoQueue", "ContentBasedDeduplication",
        "DeduplicationScope", "FifoThroughputLimit",
    };

    /// <summary>The message system attributes the emulator has (SenderId, timestamps, receive count).</summary>
    private static readonly string[] MessageAttributesKept = ["SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"];

    [GeneratedRegex("^[A-Za-z0-9_-]{1,80}$", RegexOptions.CultureInvariant)]
    private static partial Regex BatchEntryIdPattern();

    private async Task<JsonObject> ReceiveAsync(JsonObject request, CancellationToken ct)
    {
        var queue = Queue(request);
        var max = Int(request, "MaxNumberOfMessages") ?? 1;
        if (max is < 1 or > MaxBatchEntries)
        {
            throw SqsErrorException.OutOfRange("MaxNumberOfMessages", max, "Must be between 1 and 10, if provided.");
        }

        var wait = Ranged(request, "WaitTimeSeconds", 20) ?? 0;
        var visibility = Ranged(request, "VisibilityTimeout", MaxVisibilitySeconds) is { } seconds
            ? TimeSpan.FromSeconds(seconds)
            : queue.VisibilityTimeout;
        var asked = Strings(request, "MessageSystemAttributeNames").Concat(Strings(request, "AttributeNames")).ToHashSet(StringComparer.Ordinal);
        var attributes = asked.Contains("All") ? MessageAttributesKept : [.. MessageAttributesKept.Where(asked.Contains)];

        var messages = await queue.ReceiveAsync(max, TimeSpan.FromSeconds(wait), visibility, ct).ConfigureAwait(false);
        if (messages.Count == 0)
        {
            return [];
        }

        return new JsonObject
        {
            ["Messages"] = new JsonArray([.. messages.Select(m =>
            {
                var message = new JsonObject
                {
                    ["MessageId"] = m.MessageId,
                    ["ReceiptHandle"] = m.ReceiptHandle,
                    ["MD5OfBody"] = m.Md5OfBody,
                    ["Body"] = m.Body,
                };
                if (attributes.Length > 0)
                {
                    message["Attributes"] = new JsonObject(attributes.Select(a => KeyValuePair.Create(a, (JsonNode?)MessageAttribute(a, m))));
                }

                return message;
            })]),
        };
    }

    private static string MessageAttribute(string name, ReceivedMessage message) => name switch
    {
        "SenderId" => "AIDAEMULATEDEVENTBRIDGE",
        "SentTimestamp" => Ms(message.SentAt),
        "ApproximateReceiveCount" => message.ReceiveCount.ToString(CultureInfo.InvariantCulture),
        _ => Ms(message.FirstReceivedAt),
    };

    private JsonObject Delete(JsonObject request)
    {
        Queue(request).Delete(Str(request, "ReceiptHandle") ?? throw SqsErrorException.Missing("ReceiptHandle"));
        return [];
    }

    private JsonObject DeleteBatch(JsonObject request)
    {
        var queue = Queue(request);
        return Batch(request, "DeleteMessageBatchRequestEntry", entry =>
            queue.Delete(Str(entry, "ReceiptHandle") ?? throw SqsErrorException.Missing("ReceiptHandle")));
    }

    private JsonObject ChangeVisibility(JsonObject request)
    {
        var queue = Queue(request);
        ChangeVisibility(queue, request);
        return [];
    }

    private JsonObject ChangeVisibilityBatch(JsonObject request)
    {
        var queue = Queue(request);
        return Batch(request, "ChangeMessageVisibilityBatchRequestEntry", entry => ChangeVisibility(queue, entry));
    }

    private static void ChangeVisibility(EmulatedQueue queue, JsonObject request)
    {
        var handle = Str(request, "ReceiptHandle") ?? throw SqsErrorException.Missing("ReceiptHandle");
        var seconds = Ranged(request, "VisibilityTimeout", MaxVisibilitySeconds) ?? throw SqsErrorException.Missing("VisibilityTimeout");
        queue.ChangeVisibility(handle, TimeSpan.FromSeconds(seconds));
    }

    /// <summary>A batch of 1-10 entries with distinct ids: each carried out on its own, and answered Successful or Failed.</summary>
    private static JsonObject Batch(JsonObject request, string entryName, Action<JsonObject> apply)
    {
        var entries = request["Entries"] switch
        {
            null => [],
            JsonArray array => array.Select(e => e as JsonObject ?? throw Serialization("Entries must hold objects.")).ToList(),
            _ => throw Serialization("Entries must be a list."),
        };
        if (entries.Count == 0)
        {
            throw new SqsErrorException(400, "EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest",
                $"There should be at least one {entryName} in the request.");
        }

        if (entries.Count > MaxBatchEntries)
        {
            throw new SqsErrorException(400, "TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
                $"Maximum number of entries per request are {MaxBatchEntries}. You have sent {entries.Count}.");
        }

        var ids = entries.Select(e => Str(e, "Id") ?? throw SqsErrorException.Missing("Id")).ToList();
        if (ids.FirstOrDefault(id => !BatchEntryIdPattern().IsMatch(id)) is { } invalid)
        {
            throw new SqsErrorException(400, "InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId",
                $"A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long ({invalid}).");
        }

        if (ids.GroupBy(id => id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } repeated)
        {
            throw new SqsErrorException(400, "BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", $"Id {repeated.Key} repeated.");
        }

        var successful = new JsonArray();
        var failed = new JsonArray();
        for (var i = 0; i < entries.Count; i++)
        {
            try
            {
                apply(entries[i]);
                successful.Add(new JsonObject { ["Id"] = ids[i] });
            }
            catch (SqsErrorException e)
            {
                failed.Add(new JsonObject { ["Id"] = ids[i], ["SenderFault"] = e.IsSenderFault, ["Code"] = e.QueryCode, ["Message"] = e.Message });
            }
        }

        return new JsonObject { ["Successful"] = successful, ["Failed"] = failed };
    }

    private JsonObject GetAttributes(JsonObject request)
    {
        var queue = Queue(request);
        var names = Strings(request, "AttributeNames");
        if (names.FirstOrDefault(n => !KnownQueueAttributes.Contains(n)) is { } unknown)
        {
            throw new SqsErrorException(400, "InvalidAttributeName", "InvalidAttributeName", $"Unknown Attribute {unknown}.");
        }

        var all = names.Contains("All");
        var values = new JsonObject();
        foreach (var (name, value) in QueueAttributes(queue))
        {
            if (all || names.Contains(name))
            {
                values[name] = value();
            }
        }

        return values.Count == 0 ? [] : new JsonObject { ["Attributes"] = values };
    }

    private static IEnumerable<(string Name, Func<string> Value)> QueueAttributes(EmulatedQueue queue) =>
    [
        ("QueueArn", () => queue.Arn),
        ("ApproximateNumberOfMessages", () => Number(queue.ApproximateNumberOfMessages)),
        ("ApproximateNumberOfMessagesNotVisible", () => Number(queue.ApproximateNumberOfMessagesNotVisible)),
        ("ApproximateNumberOfMessagesDelayed", () => Number(queue.ApproximateNumberOfMessagesDelayed)),
        ("CreatedTimestamp", () => Number(queue.CreatedAt.ToUnixTimeSeconds())),
        ("LastModifiedTimestamp", () => Number(queue.CreatedAt.ToUnixTimeSeconds())),
        ("VisibilityTimeout", () => Number((long)queue.VisibilityTimeout.TotalSeconds)),
        ("MaximumMessageSize", () => Number(MaxBodyBytes)),
        ("MessageRetentionPeriod", () => Number(345_600)),
        ("DelaySeconds", () => "0"),
        ("ReceiveMessageWaitTimeSeconds", () => "0"),
        ("SqsManagedSseEnabled", () => "false"),
    ];

    private JsonObject GetUrl(JsonObject request)
    {
        var name = Str(request, "QueueName") ?? throw SqsErrorException.Missing("QueueName");
        var owner = Str(request, "QueueOwnerAWSAccountId");
        return queues.FirstOrDefault(q => q.Name == name && (owner is null || owner == q.AccountId)) is { } queue
            ? new JsonObject { ["QueueUrl"] = queue.Url }
            : throw SqsErrorException.QueueDoesNotExist();
    }

    private JsonObject List(JsonObject request)
    {
        var prefix = Str(request, "QueueNamePrefix") ?? "";
        var urls = queues.Where(q => q.Name.StartsWith(prefix, StringComparison.Ordinal)).Select(q => (JsonNode?)q.Url).ToArray();
        return urls.Length == 0 ? [] : new JsonObject { ["QueueUrls"] = new JsonArray(urls) };
    }

    private JsonObject Send(JsonObject request)
    {
        var queue = Queue(request);
        var body = Str(request, "MessageBody") ?? throw SqsErrorException.Missing("MessageBody");
        if (body.Length == 0 || Encoding.UTF8.GetByteCount(body) > MaxBodyBytes)
        {
            throw SqsErrorException.InvalidParameter($"One or more parameters are invalid. Reason: Message must be shorter than {MaxBodyBytes} bytes and not empty.");
        }

        if (request["MessageAttributes"] is JsonObject { Count: > 0 } || request["MessageSystemAttributes"] is JsonObject { Count: > 0 })
        {
            throw SqsErrorException.InvalidParameter("The emulator keeps no message attributes.");
        }

        var delay = Ranged(request, "DelaySeconds", MaxDelaySeconds) ?? 0;
        var id = queue.Send(body, TimeSpan.FromSeconds(delay));
        return new JsonObject { ["MessageId"] = id, ["MD5OfMessageBody"] = EmulatedQueue.Md5Hex(body) };
    }

    private JsonObject Purge(JsonObject request)
    {
        Queue(request).Purge();
        return [];
    }

    private static string Ms(DateTimeOffset at) => Number(at.ToUnixTimeMilliseconds());

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}

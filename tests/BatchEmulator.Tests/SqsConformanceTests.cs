using System.Text.Json;
using Batchkeeper.BatchEmulator.Tests.Infrastructure;

namespace Batchkeeper.BatchEmulator.Tests;

/// <summary>
/// The official SQS JavaScript client (<c>@aws-sdk/client-sqs</c>) against the emulator's events queue: if it can
/// long-poll, receive with a valid MD5 of every body, delete singly and in batches, change visibility, read the queue's
/// attributes and recognise the errors, the emulator speaks SQS's JSON 1.0 protocol. The script (js/sqs-check.mjs)
/// reports; the assertions are here.
/// </summary>
public sealed class SqsConformanceTests
{
    [Fact]
    public async Task OfficialJsClient_ReceivesAJobsEvents_DeletesThem_AndReadsTheErrors()
    {
        var options = new BatchEmulatorOptions
        {
            EventsQueue = "conf-events",
            Faults = new FaultSettings { Events = new EventFaultSettings { ThrottleRate = 1, Operations = ["ListQueues"] } },
        };
        await using var emulator = await BatchEmulator.StartAsync(options);
        using var http = new BatchHttp(emulator.BaseAddress);
        var jobId = await http.SubmitAsync("conf-job");
        await http.WaitForFinalAsync(jobId);
        await Eventually.WaitAsync(() => emulator.JobEvents.Count == 5, "the job's five events");

        var result = await NodeTooling.RunCheckAsync("sqs-check.mjs", [emulator.BaseAddress.ToString(), "conf-events", "5"], TimeSpan.FromSeconds(90));

        Assert.Equal(emulator.EventsQueueUrl, result.Str("queueUrl"));
        Assert.Equal($"{emulator.BaseAddress}123456789012/conf-events", emulator.EventsQueueUrl);
        Assert.Equal("5", result.GetProperty("before").Str("ApproximateNumberOfMessages"));
        Assert.Equal("0", result.GetProperty("before").Str("ApproximateNumberOfMessagesNotVisible"));
        Assert.Equal("arn:aws:sqs:us-east-1:123456789012:conf-events", result.GetProperty("before").Str("QueueArn"));

        // The events, in the order of the job's states, as the SDK parsed them (it verified every MD5OfBody).
        var events = result.GetProperty("events").EnumerateArray().ToList();
        Assert.Equal(["PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"], events.Select(e => e.GetProperty("body").GetProperty("detail").Status()));
        Assert.All(events, e =>
        {
            Assert.Equal("Batch Job State Change", e.GetProperty("body").Str("detail-type"));
            Assert.Equal(jobId, e.GetProperty("body").GetProperty("detail").Str("jobId"));
            Assert.Equal("1", e.GetProperty("attributes").Str("ApproximateReceiveCount"));
            Assert.True(long.Parse(e.GetProperty("attributes").Str("SentTimestamp")!, System.Globalization.CultureInfo.InvariantCulture) > 0);
        });
        Assert.Equal(5, events.Select(e => e.Str("messageId")).Distinct().Count());
        Assert.Equal("0", result.GetProperty("whileInFlight").Str("ApproximateNumberOfMessages"));
        Assert.Equal("5", result.GetProperty("whileInFlight").Str("ApproximateNumberOfMessagesNotVisible"));

        // Deletes: one, then a batch with one entry that fails on its own.
        Assert.Equal(200, result.GetProperty("deleteOne").GetInt32());
        Assert.Equal(["event-1", "event-2", "event-3", "event-4"], result.GetProperty("deleteBatch").GetProperty("successful").EnumerateArray().Select(s => s.GetString()));
        var failed = Assert.Single(result.GetProperty("deleteBatch").GetProperty("failed").EnumerateArray());
        Assert.Equal("bogus", failed.Str("Id"));
        Assert.Equal("ReceiptHandleIsInvalid", failed.Str("Code"));
        Assert.True(failed.GetProperty("SenderFault").GetBoolean());
        Assert.Equal("0", result.GetProperty("afterDelete").Str("ApproximateNumberOfMessages"));
        Assert.Equal("0", result.GetProperty("afterDelete").Str("ApproximateNumberOfMessagesNotVisible"));

        // The long poll woke for the message sent 300 ms into it, not at its 20 s.
        var longPoll = result.GetProperty("longPoll");
        Assert.Equal([longPoll.Str("sentId")], longPoll.GetProperty("messages").EnumerateArray().Select(m => m.GetString()));
        Assert.InRange(longPoll.GetProperty("ms").GetInt32(), 250, 10_000);

        // Visibility: hidden while in flight, back at once after ChangeMessageVisibility 0, received a second time.
        Assert.Equal(0, result.GetProperty("hiddenWhileInFlight").GetInt32());
        Assert.Equal(200, result.GetProperty("changeVisibility").GetInt32());
        var again = Assert.Single(result.GetProperty("receivedAgain").EnumerateArray());
        Assert.Equal(longPoll.Str("sentId"), again.Str("messageId"));
        Assert.Equal("2", again.Str("receiveCount"));
        Assert.True(result.GetProperty("staleHandle").GetProperty("thrown").GetBoolean()); // the first receipt's handle no longer holds
        Assert.Equal("InvalidParameterValue", result.GetProperty("staleHandle").Str("name"));
        Assert.Equal(["probe"], result.GetProperty("changeVisibilityBatch").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal("0", result.GetProperty("end").Str("ApproximateNumberOfMessages"));
        Assert.Equal("0", result.GetProperty("end").Str("ApproximateNumberOfMessagesNotVisible"));

        // Errors as the SDK classifies them.
        foreach (var name in new[] { "missingQueue", "missingQueueUrl" })
        {
            var missing = result.GetProperty(name);
            Assert.True(missing.GetProperty("isQueueDoesNotExist").GetBoolean(), missing.ToString());
            Assert.Equal("QueueDoesNotExist", missing.Str("name"));
            Assert.Equal("AWS.SimpleQueueService.NonExistentQueue", missing.Str("code"));
            Assert.Equal(400, missing.GetProperty("httpStatusCode").GetInt32());
            Assert.Equal("client", missing.Str("fault"));
        }

        Assert.True(result.GetProperty("invalidHandle").GetProperty("isReceiptHandleIsInvalid").GetBoolean(), result.GetProperty("invalidHandle").ToString());
        Assert.Equal("InvalidParameterValue", result.GetProperty("tooMany").Str("name"));
        Assert.Contains("MaxNumberOfMessages", result.GetProperty("tooMany").Str("message"), StringComparison.Ordinal);
        Assert.True(result.GetProperty("throttled").GetProperty("isRequestThrottled").GetBoolean(), result.GetProperty("throttled").ToString());

        // What the emulator saw: signed JSON 1.0 requests, in the SQS log and not in the Batch one.
        Assert.All(emulator.SqsRequests, r => Assert.True(r.IsSigned && r.ContentType == "application/x-amz-json-1.0", $"{r.Operation} {r.ContentType}"));
        Assert.DoesNotContain(emulator.Requests, r => SqsOperations.IsKnown(r.Operation));
        Assert.True(emulator.RequestsFor(SqsOperations.ReceiveMessage).Count >= 5);
        Assert.Equal("Throttle", Assert.Single(emulator.RequestsFor(SqsOperations.ListQueues)).Fault);
    }
}

using System.Net;
using System.Text;
using System.Text.Json;
using Amazon.SQS.Model;
using Batchkeeper.BatchEmulator.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Batchkeeper.BatchEmulator.Tests;

/// <summary>The events queue's own rules (visibility, receipt handles) and its wire, byte for byte where SDKs read it.</summary>
public sealed class SqsQueueTests
{
    [Fact]
    public async Task AMessageNotDeletedWithinItsVisibilityTimeout_IsDeliveredAgain_AndOnlyItsLatestHandleDeletesIt()
    {
        // On a clock of the test's own: invisible a millisecond before the timeout, visible at it.
        var clock = new FakeTimeProvider();
        await using var emulator = await BatchEmulator.StartAsync(new BatchEmulatorOptions { EventsQueue = "events", TimeProvider = clock });
        using var sqs = SqsClients.For(emulator);
        var url = emulator.EventsQueueUrl;
        var sent = emulator.EventsQueue!.Send("""{"detail":{"status":"RUNNING"}}""");

        var first = await ReceiveNowAsync(sqs, url, visibilitySeconds: 30);
        clock.Advance(TimeSpan.FromSeconds(30) - TimeSpan.FromMilliseconds(1));
        var justBefore = await ReceiveNowAsync(sqs, url, visibilitySeconds: 30);
        var notVisible = emulator.EventsQueue.ApproximateNumberOfMessagesNotVisible;
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var again = await ReceiveNowAsync(sqs, url, visibilitySeconds: 30);
        await sqs.DeleteMessageAsync(url, Assert.Single(first).ReceiptHandle); // stale: succeeds, deletes nothing
        var afterStaleDelete = emulator.EventsQueue.Messages.Count;
        await sqs.DeleteMessageAsync(url, Assert.Single(again).ReceiptHandle);

        Assert.Equal(sent, first[0].MessageId);
        Assert.Equal("1", first[0].Attributes["ApproximateReceiveCount"]);
        Assert.Empty(justBefore);
        Assert.Equal(1, notVisible);
        Assert.Equal(sent, again[0].MessageId);
        Assert.Equal("2", again[0].Attributes["ApproximateReceiveCount"]);
        Assert.NotEqual(first[0].ReceiptHandle, again[0].ReceiptHandle);
        Assert.Equal(1, afterStaleDelete);
        Assert.Empty(emulator.EventsQueue.Messages);
    }

    [Fact]
    public async Task Errors_CarryTheJson10TypeAndTheQueryErrorHeader_AsSqsSendsThem()
    {
        await using var emulator = await BatchEmulator.StartAsync(new BatchEmulatorOptions { EventsQueue = "events" });
        using var http = new HttpClient { BaseAddress = emulator.BaseAddress };
        var missingQueue = new { QueueUrl = $"{emulator.BaseAddress}123456789012/no-such-queue" };

        var (missingStatus, missingHeader, missingBody, contentType) = await PostAsync(http, "AmazonSQS.ReceiveMessage", missingQueue);
        var (unknownStatus, _, unknownBody, _) = await PostAsync(http, "AmazonSQS.FlyAway", new { QueueUrl = emulator.EventsQueueUrl });
        var (plainStatus, _, plainBody, _) = await PostAsync(http, "AmazonSQS.ReceiveMessage", new { QueueUrl = emulator.EventsQueueUrl }, "application/json");
        var (waitStatus, waitHeader, waitBody, _) = await PostAsync(http, "AmazonSQS.ReceiveMessage", new { QueueUrl = emulator.EventsQueueUrl, WaitTimeSeconds = 21 });
        var (emptyStatus, _, emptyBody, _) = await PostAsync(http, "AmazonSQS.ReceiveMessage", new { QueueUrl = emulator.EventsQueueUrl });

        Assert.Equal(HttpStatusCode.BadRequest, missingStatus);
        Assert.Equal("AWS.SimpleQueueService.NonExistentQueue;Sender", missingHeader);
        Assert.Equal("com.amazonaws.sqs#QueueDoesNotExist", missingBody.Str("__type"));
        Assert.Equal("The specified queue does not exist.", missingBody.Str("message"));
        Assert.Equal("application/x-amz-json-1.0", contentType);
        Assert.Equal(HttpStatusCode.BadRequest, unknownStatus);
        Assert.Equal("com.amazon.coral.service#UnknownOperationException", unknownBody.Str("__type"));
        Assert.Equal(HttpStatusCode.BadRequest, plainStatus);
        Assert.Contains("application/x-amz-json-1.0", plainBody.Str("message"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, waitStatus);
        Assert.Equal("InvalidParameterValue;Sender", waitHeader);
        Assert.Equal("Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", waitBody.Str("message"));
        Assert.Equal(HttpStatusCode.OK, emptyStatus);
        Assert.Equal("{}", emptyBody.GetRawText()); // nothing to receive: an empty object, no Messages
        Assert.Equal(["ReceiveMessage", "FlyAway", "ReceiveMessage", "ReceiveMessage", "ReceiveMessage"], emulator.SqsRequests.Select(r => r.Operation));
        Assert.Empty(emulator.Requests); // the Batch log holds Batch (and Logs) requests only
    }

    [Fact]
    public async Task GetQueueAttributes_CountsVisibleInFlightAndDelayedMessages()
    {
        await using var emulator = await BatchEmulator.StartAsync(new BatchEmulatorOptions { EventsQueue = "events" });
        using var sqs = SqsClients.For(emulator);
        var url = emulator.EventsQueueUrl;
        foreach (var body in new[] { "a", "b", "c" })
        {
            await sqs.SendMessageAsync(url, body);
        }

        await sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = url, MessageBody = "later", DelaySeconds = 900 });
        await ReceiveNowAsync(sqs, url, visibilitySeconds: 600, max: 2);

        var attributes = await sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = url, AttributeNames = ["All"] });

        Assert.Equal(1, attributes.ApproximateNumberOfMessages);
        Assert.Equal(2, attributes.ApproximateNumberOfMessagesNotVisible);
        Assert.Equal(1, attributes.ApproximateNumberOfMessagesDelayed);
        Assert.Equal(30, attributes.VisibilityTimeout);
        Assert.Equal("arn:aws:sqs:us-east-1:123456789012:events", attributes.QueueARN);
        Assert.Equal(["a", "b"], emulator.EventsQueue!.Messages.Where(m => m.ReceiveCount == 1).Select(m => m.Body).Order());
    }

    private static async Task<List<Message>> ReceiveNowAsync(Amazon.SQS.IAmazonSQS sqs, string? url, int visibilitySeconds, int max = 10) =>
        (await sqs.ReceiveMessageAsync(new ReceiveMessageRequest
        {
            QueueUrl = url, MaxNumberOfMessages = max, VisibilityTimeout = visibilitySeconds, MessageSystemAttributeNames = ["All"],
        })).Messages ?? [];

    private static async Task<(HttpStatusCode Status, string? QueryError, JsonElement Body, string? ContentType)> PostAsync(
        HttpClient http, string target, object body, string contentType = "application/x-amz-json-1.0")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        request.Headers.Add("X-Amz-Target", target);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var queryError = response.Headers.TryGetValues("x-amzn-query-error", out var values) ? values.Single() : null;
        return (response.StatusCode, queryError, JsonDocument.Parse(text).RootElement.Clone(), response.Content.Headers.ContentType?.MediaType);
    }
}

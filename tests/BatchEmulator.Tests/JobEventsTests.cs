using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Amazon.SQS.Model;
using Batchkeeper.BatchEmulator.Tests.Infrastructure;

namespace Batchkeeper.BatchEmulator.Tests;

/// <summary>The events queue as the daemon reads it, with AWSSDK.SQS: what is published for a job's life, for whom, and when a long poll wakes.</summary>
public sealed class JobEventsTests
{
    private static readonly string[] RetriedLife = ["PENDING", "RUNNABLE", "STARTING", "RUNNING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"];

    [Fact]
    public async Task EveryStateChangeAfterSubmitted_IsOneEvent_InOrder_ShapedAsEventBridgeSendsIt_WithTheDetailOfDescribeJobs()
    {
        var options = new BatchEmulatorOptions
        {
            EventsQueue = "events",
            Faults = new FaultSettings { JobRules = [new JobFaultRule { NamePrefix = "retried", FirstAttempts = 1, ExitCode = 3 }] },
        };
        await using var emulator = await BatchEmulator.StartAsync(options);
        using var http = new BatchHttp(emulator.BaseAddress);
        using var sqs = SqsClients.For(emulator);
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var jobId = await http.SubmitAsync("retried", retryStrategy: new { attempts = 2 });
        var described = await http.WaitForFinalAsync(jobId);

        var messages = await sqs.ReceiveAsync(emulator.EventsQueueUrl!, RetriedLife.Length); // the SDK checks every MD5OfBody
        var after = DateTimeOffset.UtcNow.AddSeconds(1);
        var extra = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = emulator.EventsQueueUrl, MaxNumberOfMessages = 10 });

        var events = messages.Select(m => JsonDocument.Parse(m.Body).RootElement).ToList();
        var details = events.Select(e => e.GetProperty("detail")).ToList();
        Assert.Equal(RetriedLife, details.Select(d => d.Status())); // no SUBMITTED; the retry goes back to RUNNABLE
        Assert.Empty(extra.Messages ?? []);
        Assert.Equal([0, 0, 0, 0, 1, 1, 1, 2], details.Select(d => d.GetProperty("attempts").GetArrayLength()));
        Assert.Equal(events.Count, events.Select(e => e.Str("id")).Distinct().Count());
        Assert.All(events, e =>
        {
            Assert.Equal("0", e.Str("version"));
            Assert.True(Guid.TryParse(e.Str("id"), out _), e.Str("id"));
            Assert.Equal("Batch Job State Change", e.Str("detail-type"));
            Assert.Equal("aws.batch", e.Str("source"));
            Assert.Equal("123456789012", e.Str("account"));
            Assert.Equal("us-east-1", e.Str("region"));
            Assert.Equal([described.Str("jobArn")], e.GetProperty("resources").EnumerateArray().Select(r => r.GetString()));
            var time = DateTimeOffset.ParseExact(e.Str("time")!, "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
            Assert.InRange(time, before, after);
            var detail = e.GetProperty("detail");
            Assert.Equal(jobId, detail.Str("jobId"));
            Assert.Equal("retried", detail.Str("jobName"));
            Assert.Equal("arn:aws:batch:us-east-1:123456789012:job-queue/q", detail.Str("jobQueue"));
            Assert.Equal(described.GetProperty("createdAt").GetInt64(), detail.GetProperty("createdAt").GetInt64()); // epoch ms
        });

        // startedAt and the log stream from RUNNING on; a retry starts the current-attempt fields afresh.
        Assert.Equal([false, false, false, true, false, false, true, true], details.Select(d => d.Has("startedAt")));
        Assert.StartsWith("d/default/", details[3].GetProperty("container").Str("logStreamName"), StringComparison.Ordinal);
        Assert.Equal(3, details[4].GetProperty("attempts")[0].GetProperty("container").GetProperty("exitCode").GetInt32());
        Assert.False(details[4].GetProperty("container").Has("exitCode"));
        Assert.Equal(0, details[^1].GetProperty("container").GetProperty("exitCode").GetInt32());
        Assert.True(JsonElement.DeepEquals(described, details[^1]), $"the last event's detail\n{details[^1]}\ndiffers from DescribeJobs'\n{described}");

        Assert.Equal(RetriedLife, emulator.JobEvents.Select(e => e.Status));
        Assert.All(emulator.JobEvents, e => Assert.False(e.Dropped || e.Duplicated || e.Held));
        Assert.Equal(events.Select(e => e.Str("id")), emulator.JobEvents.Select(e => e.EventId));
    }

    [Fact]
    public async Task EventRule_LetsThroughOnlyTheJobsOfItsQueues_WhoseNamesHaveItsPrefix()
    {
        var options = new BatchEmulatorOptions { EventsQueue = "events", EventRule = { JobQueues = { "mine" }, JobNamePrefix = "bk-" } };
        await using var emulator = await BatchEmulator.StartAsync(options);
        using var http = new BatchHttp(emulator.BaseAddress);
        using var sqs = SqsClients.For(emulator);

        var ours = await http.SubmitAsync("bk-ours", queue: "mine");
        var ids = new[] { ours, await http.SubmitAsync("bk-other-queue", queue: "theirs"), await http.SubmitAsync("not-ours", queue: "mine") };
        foreach (var id in ids)
        {
            await http.WaitForFinalAsync(id);
        }

        var messages = await sqs.ReceiveAsync(emulator.EventsQueueUrl!, 5);

        Assert.All(messages, m => Assert.Equal(ours, JsonDocument.Parse(m.Body).RootElement.GetProperty("detail").Str("jobId")));
        Assert.Equal(5, messages.Count);
        Assert.All(emulator.JobEvents, e => Assert.Equal(ours, e.JobId));
        Assert.Equal(0, emulator.EventsQueue!.ApproximateNumberOfMessages);
    }

    [Fact]
    public async Task LongPoll_ReturnsAsSoonAsAnEventArrives_NotAtTheEndOfItsWait()
    {
        await using var emulator = await BatchEmulator.StartAsync(new BatchEmulatorOptions { EventsQueue = "events" });
        using var http = new BatchHttp(emulator.BaseAddress);
        using var sqs = SqsClients.For(emulator);
        var poll = sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = emulator.EventsQueueUrl, WaitTimeSeconds = 20, MaxNumberOfMessages = 10 });
        await Eventually.WaitAsync(() => emulator.SqsRequestsInFlight == 1, "the long poll to be waiting");
        Assert.False(poll.IsCompleted, "the long poll returned with nothing to return");

        var clock = Stopwatch.StartNew();
        var jobId = await http.SubmitAsync("wakes-the-poll");
        var answer = await poll.WaitAsync(TimeSpan.FromSeconds(10));

        var first = JsonDocument.Parse(answer.Messages[0].Body).RootElement.GetProperty("detail");
        Assert.Equal(jobId, first.Str("jobId"));
        Assert.Equal("PENDING", first.Status());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"woke after {clock.Elapsed}");
        var recorded = Assert.Single(emulator.RequestsFor(SqsOperations.ReceiveMessage));
        Assert.Equal(200, recorded.StatusCode);
        Assert.True(recorded.Duration < TimeSpan.FromSeconds(19), $"the poll took {recorded.Duration}");
    }

    [Fact]
    public async Task WithoutAnEventsQueue_NothingIsPublished_AndTheSqsEndpointKnowsNoQueue()
    {
        await using var emulator = await BatchEmulator.StartAsync();
        using var http = new BatchHttp(emulator.BaseAddress);
        using var sqs = SqsClients.For(emulator);
        await http.WaitForFinalAsync(await http.SubmitAsync("unobserved"));

        var missing = await Assert.ThrowsAsync<Amazon.SQS.Model.QueueDoesNotExistException>(
            () => sqs.GetQueueUrlAsync(new GetQueueUrlRequest { QueueName = "events" }));

        Assert.Null(emulator.EventsQueueUrl);
        Assert.Null(emulator.EventsQueue);
        Assert.Empty(emulator.JobEvents);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, missing.StatusCode);
    }
}

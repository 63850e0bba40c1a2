using System.Net;
using System.Text.Json;
using Amazon.SQS;
using Amazon.SQS.Model;
using Batchkeeper.BatchEmulator.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Batchkeeper.BatchEmulator.Tests;

/// <summary>What EventBridge may do to the events on their way (duplicates, reordering, delays, losses) and SQS request faults, as configured.</summary>
public sealed class EventFaultTests
{
    private static readonly string[] Life = ["PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"];

    [Fact]
    public async Task DuplicateRate_DeliversEveryEventTwice_AsTwoMessagesWithTheSameEventId()
    {
        var options = new BatchEmulatorOptions { EventsQueue = "events", Faults = new FaultSettings { Events = new() { DuplicateRate = 1 } } };
        await using var emulator = await BatchEmulator.StartAsync(options);
        using var http = new BatchHttp(emulator.BaseAddress);
        using var sqs = SqsClients.For(emulator);
        await http.WaitForFinalAsync(await http.SubmitAsync("doubled"));

        var messages = await sqs.ReceiveAsync(emulator.EventsQueueUrl!, 2 * Life.Length);

        var byEvent = messages.GroupBy(m => Body(m).Str("id")).ToList();
        Assert.Equal(Life.Length, byEvent.Count);
        Assert.All(byEvent, g => Assert.Equal(2, g.Count()));
        Assert.All(byEvent, g => Assert.Equal(g.First().Body, g.Last().Body));
        Assert.Equal(messages.Count, messages.Select(m => m.MessageId).Distinct().Count());
        Assert.Equal(Life, byEvent.Select(g => Body(g.First()).GetProperty("detail").Status()));
        Assert.All(emulator.JobEvents, e => Assert.True(e.Duplicated));
    }

    [Fact]
    public async Task ReorderRate_ReleasesEachHeldEventRightBehindItsJobsNextOne_AndTheLastAfterTheHold()
    {
        var options = new BatchEmulatorOptions
        {
            EventsQueue = "events",
            Faults = new FaultSettings { Events = new() { ReorderRate = 1, ReorderHold = TimeSpan.FromSeconds(3) } },
        };
        await using var emulator = await BatchEmulator.StartAsync(options);
        using var http = new BatchHttp(emulator.BaseAddress);
        using var sqs = SqsClients.For(emulator);
        await http.WaitForFinalAsync(await http.SubmitAsync("shuffled"));
        var heldAtTheEnd = emulator.EventsQueue!.ApproximateNumberOfMessagesDelayed;

        var messages = await sqs.ReceiveAsync(emulator.EventsQueueUrl!, Life.Length);

        // Held: PENDING (released behind RUNNABLE), STARTING (behind RUNNING), SUCCEEDED (nothing behind it: the hold ran out).
        Assert.Equal(["RUNNABLE", "PENDING", "RUNNING", "STARTING", "SUCCEEDED"], messages.Select(m => Body(m).GetProperty("detail").Status()));
        Assert.Equal([true, false, true, false, true], emulator.JobEvents.Select(e => e.Held));
        Assert.Equal(1, heldAtTheEnd);
    }

    [Fact]
    public async Task Delay_KeepsEachEventInvisible_UntilItsDelayHasPassed()
    {
        // On a clock of the test's own: hidden a millisecond before the delay, visible at it, however slow the machine.
        var clock = new FakeTimeProvider();
        var options = new BatchEmulatorOptions
        {
            EventsQueue = "events",
            TimeProvider = clock,
            Faults = new FaultSettings { Events = new() { Delay = TimeSpan.FromSeconds(10) } },
        };
        await using var emulator = await BatchEmulator.StartAsync(options);
        using var http = new BatchHttp(emulator.BaseAddress);
        using var sqs = SqsClients.For(emulator);
        var jobId = await http.SubmitAsync("late");
        clock.Advance(options.SubmittedDuration);
        await Eventually.WaitAsync(() => emulator.JobEvents.Count == 1, "the PENDING event");
        var published = emulator.JobEvents[0].At;

        clock.Advance(published + TimeSpan.FromSeconds(10) - clock.GetUtcNow() - TimeSpan.FromMilliseconds(1));
        var justBefore = await ReceiveNowAsync(sqs, emulator);
        var delayed = emulator.EventsQueue!.ApproximateNumberOfMessagesDelayed;
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var atTheDelay = await ReceiveNowAsync(sqs, emulator);

        Assert.Empty(justBefore);
        Assert.True(delayed >= 1, $"{delayed} delayed");
        var pending = Body(Assert.Single(atTheDelay)).GetProperty("detail");
        Assert.Equal(jobId, pending.Str("jobId"));
        Assert.Equal("PENDING", pending.Status());
    }

    [Fact]
    public async Task DropAndDuplicate_WithTheSameSeed_HitTheSameEvents_AndOnlyTheKeptOnesAreQueued()
    {
        var first = await RunSeededAsync(3);
        var second = await RunSeededAsync(3);

        Assert.Equal(first.Fates, second.Fates);
        Assert.Contains(first.Fates, f => f.Dropped);
        Assert.Contains(first.Fates, f => !f.Dropped);
        Assert.Contains(first.Fates, f => f.Duplicated);
        Assert.Equal(first.Fates.Sum(f => f.Dropped ? 0 : f.Duplicated ? 2 : 1), first.Queued);
        Assert.Equal(first.Queued, second.Queued);
    }

    [Fact]
    public async Task SqsRequestFaults_ThrottleAndFailTheChosenOperations_AndLeaveBatchAlone()
    {
        var options = new BatchEmulatorOptions
        {
            EventsQueue = "events",
            Faults = new FaultSettings { Events = new() { ThrottleRate = 1, Operations = [SqsOperations.ReceiveMessage] } },
        };
        await using var emulator = await BatchEmulator.StartAsync(options);
        using var http = new BatchHttp(emulator.BaseAddress);
        using var sqs = SqsClients.For(emulator);
        var url = emulator.EventsQueueUrl;

        var throttled = await Assert.ThrowsAsync<RequestThrottledException>(() => sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url }));
        var attributes = await sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = url, AttributeNames = ["ApproximateNumberOfMessages"] });
        emulator.Faults.Update(f => f with { Events = new() { ServerErrorRate = 1 } });
        var failed = await Assert.ThrowsAnyAsync<AmazonSQSException>(() => sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = url, AttributeNames = ["All"] }));
        var batch = await http.CallAsync("DescribeJobs", new { jobs = Array.Empty<string>() });

        Assert.Equal("RequestThrottled", throttled.ErrorCode); // and the SDK knew it: RequestThrottledException
        Assert.Equal(HttpStatusCode.Forbidden, throttled.StatusCode);
        Assert.Equal(0, attributes.ApproximateNumberOfMessages);
        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Equal("InternalError", failed.ErrorCode);
        Assert.Equal(HttpStatusCode.OK, batch.Status);
        Assert.Equal(["Throttle", null, "ServerError"], emulator.SqsRequests.Select(r => r.Fault));
        Assert.DoesNotContain(emulator.Requests, r => r.Fault is not null);
    }

    [Fact]
    public async Task EventFaults_AreSetOverHttp_WithoutTouchingTheBatchFaults_AndTheEventsAreListed()
    {
        await using var emulator = await BatchEmulator.StartAsync(new BatchEmulatorOptions { EventsQueue = "events" });
        using var http = new BatchHttp(emulator.BaseAddress);
        await http.ControlAsync(HttpMethod.Put, "faults", new { throttleRate = 0.25, seed = 3, operations = new[] { "ListJobs" } });

        var set = await http.ControlAsync(HttpMethod.Put, "faults/events", new { duplicateRate = 1.0, duplicateLag = 5, reorderHold = "00:00:01" });
        using var invalid = await http.Client.PutAsync(
            "/_emulator/faults/events", new StringContent("""{"dropRate":2}""", System.Text.Encoding.UTF8, "application/json"));
        await http.WaitForFinalAsync(await http.SubmitAsync("listed"));
        await Eventually.WaitAsync(() => emulator.JobEvents.Count == Life.Length, "the job's events");
        // Each duplicate becomes visible 5 ms after its original: wait for the last of them.
        var listed = await Eventually.WaitAsync(
            () => http.ControlAsync(HttpMethod.Get, "events"), l => l.GetProperty("visible").GetInt32() == 2 * Life.Length, "every event and its duplicate visible");

        Assert.Equal(0.25, set.GetProperty("throttleRate").GetDouble());
        Assert.Equal(1.0, set.GetProperty("events").GetProperty("duplicateRate").GetDouble());
        Assert.Equal("00:00:00.0050000", set.GetProperty("events").Str("duplicateLag"));
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Contains("Events: DropRate must be between 0 and 1", await invalid.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(emulator.EventsQueueUrl, listed.Str("queueUrl"));
        Assert.Equal(2 * Life.Length, listed.GetProperty("visible").GetInt32());
        Assert.Equal(Life, listed.GetProperty("events").EnumerateArray().Select(e => e.Status()));
        Assert.All(listed.GetProperty("events").EnumerateArray(), e => Assert.True(e.GetProperty("duplicated").GetBoolean()));
    }

    private static JsonElement Body(Message message) => JsonDocument.Parse(message.Body).RootElement;

    private static async Task<List<Message>> ReceiveNowAsync(IAmazonSQS sqs, BatchEmulator emulator) =>
        (await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = emulator.EventsQueueUrl, MaxNumberOfMessages = 10 })).Messages ?? [];

    /// <summary>Three jobs one after the other (so their events come in one order), half the events dropped and half duplicated.</summary>
    private static async Task<(List<EmulatedJobEvent> Fates, int Queued)> RunSeededAsync(int seed)
    {
        var options = new BatchEmulatorOptions
        {
            EventsQueue = "events",
            Faults = new FaultSettings { Seed = seed, Events = new() { DropRate = 0.5, DuplicateRate = 0.5 } },
        };
        await using var emulator = await BatchEmulator.StartAsync(options);
        using var http = new BatchHttp(emulator.BaseAddress);
        foreach (var name in new[] { "seeded-1", "seeded-2", "seeded-3" })
        {
            await http.WaitForFinalAsync(await http.SubmitAsync(name));
        }

        var fates = emulator.JobEvents.Select(e => e with { EventId = "", JobId = "", At = default }).ToList();
        return (fates, emulator.EventsQueue!.ApproximateNumberOfMessages);
    }
}

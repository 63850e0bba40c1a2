using System.Text.Json;
using Batchkeeper.BatchEmulator.Tests.Infrastructure;

namespace Batchkeeper.BatchEmulator.Tests;

/// <summary>
/// The official AWS JavaScript client (<c>@aws-sdk/client-batch</c>) against the emulator: if the
/// SDK can submit, describe, list, page, terminate and read errors, the emulator speaks Batch's
/// protocol. The script (js/client-check.mjs) reports; the assertions are here.
/// </summary>
public sealed class ConformanceTests
{
    [Fact]
    public async Task OfficialJsClient_RunsTheWholeJobLifecycle_AgainstTheEmulator()
    {
        var options = new BatchEmulatorOptions
        {
            Strict = true,
            JobQueues = { new JobQueueOptions { Name = "conf-queue", Priority = 10 } },
            JobDefinitions =
            {
                new JobDefinitionOptions { Name = "conf-def", Revision = 1 },
                new JobDefinitionOptions { Name = "conf-def", Revision = 2, MemoryMiB = 1024 },
            },
            Faults = new FaultSettings { JobRules = [new JobFaultRule { NamePrefix = "conf-third", Fail = false, RunDuration = TimeSpan.FromMinutes(1) }] },
        };
        await using var emulator = await BatchEmulator.StartAsync(options);
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        var result = await NodeTooling.RunCheckAsync("client-check.mjs", [emulator.BaseAddress.ToString()], TimeSpan.FromSeconds(60));

        var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        // SubmitJob
        var firstId = result.GetProperty("submitted").GetProperty("first").Str("jobId")!;
        var secondId = result.GetProperty("submitted").GetProperty("second").Str("jobId")!;
        Assert.Equal(200, result.GetProperty("submitted").GetProperty("first").GetProperty("httpStatusCode").GetInt32());
        Assert.EndsWith(":job/" + firstId, result.GetProperty("submitted").GetProperty("first").Str("jobArn"), StringComparison.Ordinal);

        // DescribeJobs until SUCCEEDED, as the SDK parsed it
        var first = result.GetProperty("described").GetProperty("conf-first");
        var second = result.GetProperty("described").GetProperty("conf-second");
        Assert.Equal("SUCCEEDED", first.Status());
        Assert.Equal("SUCCEEDED", second.Status());
        Assert.Equal("arn:aws:batch:us-east-1:123456789012:job-queue/conf-queue", first.Str("jobQueue"));
        Assert.Equal("arn:aws:batch:us-east-1:123456789012:job-definition/conf-def:1", first.Str("jobDefinition"));
        Assert.Equal("arn:aws:batch:us-east-1:123456789012:job-definition/conf-def:2", second.Str("jobDefinition")); // name = latest revision
        foreach (var job in new[] { first, second })
        {
            // Epoch milliseconds (the SDK reads them as numbers), in order.
            var created = job.GetProperty("createdAt").GetInt64();
            var started = job.GetProperty("startedAt").GetInt64();
            var stopped = job.GetProperty("stoppedAt").GetInt64();
            Assert.InRange(created, before - 1000, after);
            Assert.True(created <= started && started <= stopped, $"createdAt {created}, startedAt {started}, stoppedAt {stopped}");
            Assert.Equal(0, job.GetProperty("container").GetProperty("exitCode").GetInt32());
            Assert.StartsWith("conf-def/default/", job.GetProperty("container").Str("logStreamName"), StringComparison.Ordinal);
            Assert.Equal(1, job.GetProperty("attempts").GetArrayLength());
            Assert.Equal(0, job.GetProperty("attempts")[0].GetProperty("container").GetProperty("exitCode").GetInt32());
        }

        Assert.True(second.GetProperty("startedAt").GetInt64() >= first.GetProperty("stoppedAt").GetInt64(), "the dependant ran before its upstream finished");
        Assert.Equal(firstId, second.GetProperty("dependsOn")[0].Str("jobId"));
        Assert.Equal(0, first.GetProperty("dependsOn").GetArrayLength());
        Assert.Equal(["count", "s1"], first.GetProperty("container").GetProperty("command").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("bar", first.GetProperty("container").GetProperty("environment")[0].Str("value"));
        Assert.Equal(
            new Dictionary<string, string> { ["VCPU"] = "2", ["MEMORY"] = "4096" },
            Requirements(first));
        Assert.Equal(
            new Dictionary<string, string> { ["VCPU"] = "1", ["MEMORY"] = "8192" }, // definition's VCPU, overridden MEMORY
            Requirements(second));
        Assert.Equal("4", first.GetProperty("parameters").Str("threads"));
        Assert.Equal("conformance", first.GetProperty("tags").Str("project"));
        Assert.Equal("2", second.GetProperty("tags").Str("step"));
        Assert.Equal(2, first.GetProperty("retryStrategy").GetProperty("attempts").GetInt32());
        Assert.Equal(3600, first.GetProperty("timeout").GetProperty("attemptDurationSeconds").GetInt32());

        // The dependant waited in PENDING until its upstream SUCCEEDED, and no job showed startedAt before RUNNING.
        var secondHistory = emulator.GetJob(secondId)!.History;
        Assert.Equal(["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"], secondHistory.Select(h => h.Status));
        Assert.True(secondHistory[2].At >= emulator.GetJob(firstId)!.StoppedAt);
        Assert.Contains("SUCCEEDED", result.GetProperty("seen").GetProperty("conf-second").EnumerateArray().Select(s => s.GetString()));
        Assert.False(result.TryGetProperty("startedAtBeforeRunning", out _), "startedAt was present before RUNNING");

        // ListJobs: by queue and status, and by JOB_NAME prefix, one per page through nextToken; newest first.
        foreach (var listing in new[] { "listByQueue", "listByNamePrefix" })
        {
            var list = result.GetProperty(listing);
            Assert.Equal(2, list.GetProperty("pages").GetInt32());
            Assert.Equal(["conf-second", "conf-first"], list.GetProperty("names").EnumerateArray().Select(n => n.GetString()));
            var summary = list.GetProperty("last");
            Assert.Equal(firstId, summary.Str("jobId"));
            Assert.Equal("SUCCEEDED", summary.Status());
            Assert.Equal(0, summary.GetProperty("container").GetProperty("exitCode").GetInt32());
            Assert.Equal(first.GetProperty("createdAt").GetInt64(), summary.GetProperty("createdAt").GetInt64());
        }

        Assert.Equal(["conf-first"], result.GetProperty("listByExactName").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal(0, result.GetProperty("listDefaultStatus").GetInt32()); // no status and no filter: RUNNING only

        // TerminateJob of a RUNNING job: FAILED with the given reason, the attempt closed.
        Assert.Equal(200, result.GetProperty("terminate").GetProperty("httpStatusCode").GetInt32());
        var terminated = result.GetProperty("terminated");
        Assert.Equal("FAILED", terminated.Status());
        Assert.Equal("stopped by client-check", terminated.Str("statusReason"));
        Assert.True(terminated.Has("startedAt"));
        Assert.True(terminated.GetProperty("isTerminated").GetBoolean());
        Assert.False(terminated.GetProperty("isCancelled").GetBoolean());
        Assert.Equal("stopped by client-check", Assert.Single(terminated.GetProperty("attempts").EnumerateArray()).Str("statusReason"));

        // DescribeJobQueues / DescribeJobDefinitions
        var queue = Assert.Single(result.GetProperty("queues").EnumerateArray());
        Assert.Equal("conf-queue", queue.Str("jobQueueName"));
        Assert.Equal(10, queue.GetProperty("priority").GetInt32());
        Assert.Equal("ENABLED", queue.Str("state"));
        Assert.Equal([1, 2], result.GetProperty("definitions").EnumerateArray().Select(d => d.GetProperty("revision").GetInt32()));
        Assert.Equal("1024", result.GetProperty("definitions")[1].GetProperty("containerProperties").GetProperty("resourceRequirements")
            .EnumerateArray().Single(r => r.Str("type") == "MEMORY").Str("value"));

        // Errors as the SDK classifies them.
        var unknownQueue = result.GetProperty("unknownQueue");
        Assert.True(unknownQueue.GetProperty("thrown").GetBoolean());
        Assert.Equal("ClientException", unknownQueue.Str("name"));
        Assert.True(unknownQueue.GetProperty("isClientException").GetBoolean());
        Assert.Equal(400, unknownQueue.GetProperty("httpStatusCode").GetInt32());
        Assert.Contains("no-such-queue", unknownQueue.Str("message"), StringComparison.Ordinal);

        var throttled = result.GetProperty("throttled");
        Assert.True(throttled.GetProperty("thrown").GetBoolean());
        Assert.Equal("TooManyRequestsException", throttled.Str("name"));
        Assert.Equal(429, throttled.GetProperty("httpStatusCode").GetInt32());
        Assert.False(result.GetProperty("afterThrottle").GetProperty("thrown").GetBoolean()); // only the next request was throttled

        // What the emulator saw: every Batch request signed with SigV4 and sent as application/json.
        var requests = emulator.Requests;
        Assert.NotEmpty(requests);
        Assert.All(requests, r => Assert.True(r.IsSigned, $"{r.Operation} was not signed"));
        Assert.All(requests, r => Assert.Equal("application/json", r.ContentType));
        var submits = emulator.RequestsFor(BatchOperations.SubmitJob);
        var secondSubmit = Assert.Single(submits, r => r.BodyJson.GetProperty("jobName").GetString() == "conf-second");
        Assert.Equal(firstId, secondSubmit.BodyJson.GetProperty("dependsOn")[0].GetProperty("jobId").GetString());
        Assert.Equal(secondId, emulator.Jobs.Single(j => j.JobName == "conf-second").JobId);
    }

    private static Dictionary<string, string> Requirements(JsonElement job) =>
        job.GetProperty("container").GetProperty("resourceRequirements").EnumerateArray()
            .ToDictionary(r => r.Str("type")!, r => r.Str("value")!);
}

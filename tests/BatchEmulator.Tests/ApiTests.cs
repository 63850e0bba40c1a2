using System.Net;
using System.Text.Json;
using Batchkeeper.BatchEmulator.Tests.Infrastructure;

namespace Batchkeeper.BatchEmulator.Tests;

/// <summary>Wire details: errors, validation, listing and paging, queues and definitions, the request log.</summary>
public sealed class ApiTests
{
    private static BatchEmulatorOptions StrictOptions() => new()
    {
        Strict = true,
        JobQueues = { new JobQueueOptions { Name = "q" }, new JobQueueOptions { Name = "off", State = "DISABLED" } },
        JobDefinitions =
        {
            new JobDefinitionOptions { Name = "d", Revision = 3, Parameters = { ["threads"] = "1" }, Command = { "tool", "Ref::threads" } },
            new JobDefinitionOptions { Name = "d", Revision = 4 },
        },
    };

    [Theory]
    [InlineData("""{"jobName":"a","jobQueue":"nope","jobDefinition":"d"}""", "JobQueue nope not found.")]
    [InlineData("""{"jobName":"a","jobQueue":"q","jobDefinition":"nope:1"}""", "JobDefinition name nope:1 does not exist or is not in ACTIVE status.")]
    [InlineData("""{"jobName":"a","jobQueue":"q","jobDefinition":"d:9"}""", "JobDefinition name d:9 does not exist or is not in ACTIVE status.")]
    [InlineData("""{"jobName":"a","jobQueue":"off","jobDefinition":"d"}""", "JobQueue off is not in ENABLED state.")]
    [InlineData("""{"jobName":"-bad","jobQueue":"q","jobDefinition":"d"}""", "Job name should match valid pattern")]
    [InlineData("""{"jobName":"a","jobQueue":"q","jobDefinition":"d","dependsOn":[{"jobId":"missing"}]}""", "Dependent Job ID missing does not exist.")]
    [InlineData("""{"jobName":"a","jobQueue":"q","jobDefinition":"d","retryStrategy":{"attempts":11}}""", "retryStrategy.attempts must be between 1 and 10.")]
    [InlineData("""{"jobName":"a","jobQueue":"q","jobDefinition":"d","timeout":{"attemptDurationSeconds":30}}""", "at least 60")]
    [InlineData("""{"jobQueue":"q","jobDefinition":"d"}""", "jobName is required.")]
    [InlineData("""{"jobName":"a","jobQueue":"q","jobDefinition":"d","containerOverrides":{"environment":[{"name":"AWS_BATCH_X","value":"1"}]}}""", "reserved")]
    [InlineData("""not json""", "not valid")]
    public async Task SubmitJob_WithABadRequest_IsAClientException(string body, string message)
    {
        await using var emulator = await BatchEmulator.StartAsync(StrictOptions());
        using var http = new BatchHttp(emulator.BaseAddress);

        var response = await http.PostRawAsync("/v1/submitjob", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("ClientException", response.ErrorType);
        Assert.Equal("application/json", response.ContentType);
        Assert.Contains(message, response.Body.Str("message"), StringComparison.Ordinal);
        Assert.Empty(emulator.Jobs);
    }

    [Fact]
    public async Task SubmitJob_AcceptsTheDefinitionByName_NameAndRevision_OrArn_AndTheQueueByArn_OnAnyPathCase()
    {
        await using var emulator = await BatchEmulator.StartAsync(StrictOptions());
        using var http = new BatchHttp(emulator.BaseAddress);

        var byName = await http.SubmitAsync("by-name");
        var byRevision = await http.SubmitAsync("by-revision", definition: "d:3");
        var byArn = await http.SubmitAsync(
            "by-arn", queue: "arn:aws:batch:us-east-1:123456789012:job-queue/q",
            definition: "arn:aws:batch:us-east-1:123456789012:job-definition/d:3");
        var mixedCase = await http.PostRawAsync("/V1/SubmitJob", """{"jobName":"mixed","jobQueue":"q","jobDefinition":"d"}""");

        Assert.EndsWith("job-definition/d:4", emulator.GetJob(byName)!.JobDefinitionArn, StringComparison.Ordinal);
        Assert.EndsWith("job-definition/d:3", emulator.GetJob(byRevision)!.JobDefinitionArn, StringComparison.Ordinal);
        Assert.EndsWith("job-definition/d:3", emulator.GetJob(byArn)!.JobDefinitionArn, StringComparison.Ordinal);
        Assert.Equal(["tool", "1"], emulator.GetJob(byRevision)!.Command); // Ref:: from the definition's parameters
        Assert.Equal(HttpStatusCode.OK, mixedCase.Status);
    }

    [Fact]
    public async Task NonStrictEmulator_RegistersUnknownQueuesAndDefinitions_OnFirstUse()
    {
        await using var emulator = await BatchEmulator.StartAsync();
        using var http = new BatchHttp(emulator.BaseAddress);

        await http.SubmitAsync("auto", queue: "fresh-queue", definition: "fresh-def:7");
        var queues = await http.CallAsync("DescribeJobQueues", new { jobQueues = new[] { "fresh-queue" } });
        var definitions = await http.CallAsync("DescribeJobDefinitions", new { jobDefinitions = new[] { "fresh-def:7" } });
        var unknownQueueListing = await http.CallAsync("ListJobs", new { jobQueue = "never-used" });

        Assert.Equal("fresh-queue", queues.Body.GetProperty("jobQueues")[0].Str("jobQueueName"));
        Assert.Equal(7, definitions.Body.GetProperty("jobDefinitions")[0].GetProperty("revision").GetInt32());
        Assert.Equal(HttpStatusCode.OK, unknownQueueListing.Status);
        Assert.Equal(0, unknownQueueListing.Body.GetProperty("jobSummaryList").GetArrayLength());
    }

    [Fact]
    public async Task DescribeJobs_OmitsUnknownIds_AcceptsArns_AndRefusesMoreThan100()
    {
        await using var emulator = await BatchEmulator.StartAsync();
        using var http = new BatchHttp(emulator.BaseAddress);
        var id = await http.SubmitAsync("described");
        var arn = emulator.GetJob(id)!.JobArn;

        var some = await http.CallAsync("DescribeJobs", new { jobs = new[] { "unknown-1", arn, "unknown-2" } });
        var tooMany = await http.CallAsync("DescribeJobs", new { jobs = Enumerable.Range(0, 101).Select(i => $"id-{i}").ToArray() });
        var hundred = await http.CallAsync("DescribeJobs", new { jobs = Enumerable.Range(0, 99).Select(i => $"id-{i}").Append(id).ToArray() });

        Assert.Equal(id, Assert.Single(some.Body.GetProperty("jobs").EnumerateArray()).Str("jobId"));
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.Status);
        Assert.Equal("ClientException", tooMany.ErrorType);
        Assert.Equal(1, hundred.Body.GetProperty("jobs").GetArrayLength());
    }

    [Fact]
    public async Task ListJobs_DefaultsToRunning_FiltersByNameExactlyOrByPrefix_AndPagesNewestFirst()
    {
        await using var emulator = await BatchEmulator.StartAsync();
        emulator.Faults.AddJobRule(new JobFaultRule { NamePrefix = "run-", Fail = false, RunDuration = TimeSpan.FromMinutes(1) });
        using var http = new BatchHttp(emulator.BaseAddress);
        var running = await http.SubmitAsync("run-forever");
        var done = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            done.Add(await http.SubmitAsync($"page-{i}"));
        }

        await http.WaitForStatusAsync(running, "RUNNING");
        await emulator.WaitUntilAsync(jobs => jobs.Where(j => j.JobName.StartsWith("page-", StringComparison.Ordinal)).All(j => j.IsFinal), TimeSpan.FromSeconds(15));

        var byDefault = await ListAsync(http, new { jobQueue = "q" });
        var succeeded = await ListAsync(http, new { jobQueue = "q", jobStatus = "SUCCEEDED" });
        var exact = await ListAsync(http, new { jobQueue = "q", filters = new[] { new { name = "JOB_NAME", values = new[] { "PAGE-1" } } } });
        var pages = new List<List<string>>();
        string? token = null;
        do
        {
            var response = await http.CallAsync("ListJobs", token is null
                ? new { jobQueue = "q", maxResults = 2, filters = new[] { new { name = "JOB_NAME", values = new[] { "page-*" } } } }
                : (object)new { jobQueue = "q", maxResults = 2, nextToken = token, filters = new[] { new { name = "JOB_NAME", values = new[] { "page-*" } } } });
            Assert.Equal(HttpStatusCode.OK, response.Status);
            pages.Add([.. response.Body.GetProperty("jobSummaryList").EnumerateArray().Select(s => s.Str("jobName")!)]);
            token = response.Body.Str("nextToken");
        }
        while (token is not null && pages.Count < 10);
        var badToken = await http.CallAsync("ListJobs", new { jobQueue = "q", nextToken = "garbage!" });
        var twoFilters = await http.CallAsync("ListJobs", new
        {
            jobQueue = "q",
            filters = new[] { new { name = "JOB_NAME", values = new[] { "a" } }, new { name = "JOB_NAME", values = new[] { "b" } } },
        });

        Assert.Equal(["run-forever"], byDefault.Select(s => s.Str("jobName")));
        Assert.False(byDefault[0].Has("stoppedAt"));
        Assert.Equal(5, succeeded.Count);
        Assert.Equal(["page-1"], exact.Select(s => s.Str("jobName"))); // case-insensitive, as Batch's JOB_NAME filter
        Assert.Equal([2, 2, 1], pages.Select(p => p.Count));
        Assert.Equal(["page-4", "page-3", "page-2", "page-1", "page-0"], pages.SelectMany(p => p));
        Assert.Equal(HttpStatusCode.BadRequest, badToken.Status);
        Assert.Equal(HttpStatusCode.BadRequest, twoFilters.Status);
    }

    [Fact]
    public async Task RequestLog_RecordsOperationBodyAndSignature_OverHttpAndInProcess()
    {
        await using var emulator = await BatchEmulator.StartAsync();
        using var http = new BatchHttp(emulator.BaseAddress);
        const string signature = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/batch/aws4_request, SignedHeaders=host, Signature=00";

        var upstream = await http.SubmitAsync("slot-1");
        await http.CallAsync("SubmitJob", new { jobName = "slot-2", jobQueue = "q", jobDefinition = "d", dependsOn = new[] { new { jobId = upstream } } }, signature);
        await http.CallAsync("DescribeJobs", new { jobs = new[] { upstream } }, signature);
        var overHttp = await http.ControlAsync(HttpMethod.Get, "requests?operation=SubmitJob");

        var submits = emulator.RequestsFor(BatchOperations.SubmitJob);
        Assert.Equal(["slot-1", "slot-2"], submits.Select(r => r.BodyJson.GetProperty("jobName").GetString()));
        Assert.Equal([false, true], submits.Select(r => r.IsSigned));
        Assert.False(submits[0].BodyJson.TryGetProperty("dependsOn", out _));
        Assert.Equal(upstream, submits[1].BodyJson.GetProperty("dependsOn")[0].GetProperty("jobId").GetString());
        Assert.Equal([BatchOperations.SubmitJob, BatchOperations.SubmitJob, BatchOperations.DescribeJobs], emulator.Requests.Select(r => r.Operation));
        var recorded = overHttp.GetProperty("requests").EnumerateArray().ToList();
        Assert.Equal(2, recorded.Count);
        Assert.True(recorded[1].GetProperty("isSigned").GetBoolean());
        Assert.Contains("slot-2", recorded[1].Str("body"), StringComparison.Ordinal);
        Assert.Equal(200, recorded[1].GetProperty("statusCode").GetInt32());
    }

    [Fact]
    public async Task UnknownOperation_Is404_UnknownOperationException()
    {
        await using var emulator = await BatchEmulator.StartAsync();
        using var http = new BatchHttp(emulator.BaseAddress);

        var response = await http.PostRawAsync("/v1/createcomputeenvironment", "{}");

        Assert.Equal(HttpStatusCode.NotFound, response.Status);
        Assert.Equal("UnknownOperationException", response.ErrorType);
    }

    [Fact]
    public async Task Emulator_ListensOnLoopbackOnly_OnAPortChosenAtRunTime()
    {
        await using var first = await BatchEmulator.StartAsync();
        await using var second = await BatchEmulator.StartAsync();

        Assert.Equal("127.0.0.1", first.BaseAddress.Host);
        Assert.NotEqual(0, first.BaseAddress.Port);
        Assert.NotEqual(first.BaseAddress.Port, second.BaseAddress.Port);
    }

    [Fact]
    public async Task StartAsync_WithInvalidOptions_ListsEveryProblem()
    {
        var options = new BatchEmulatorOptions { RunDuration = TimeSpan.FromSeconds(-1), MaxRunningJobs = 0 };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => BatchEmulator.StartAsync(options));

        Assert.Contains("RunDuration", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxRunningJobs", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InProcessWaits_ReturnTheMatchingSnapshot_OrTimeOut()
    {
        await using var emulator = await BatchEmulator.StartAsync();
        emulator.Faults.AddJobRule(new JobFaultRule { NamePrefix = "stays-", Fail = false, RunDuration = TimeSpan.FromMinutes(1) });
        using var http = new BatchHttp(emulator.BaseAddress);
        var quick = await http.SubmitAsync("quick");
        var stays = await http.SubmitAsync("stays-running");

        var final = await emulator.WaitForFinalAsync(quick, TimeSpan.FromSeconds(15));
        var running = await emulator.WaitForJobAsync(stays, j => j.Status == "RUNNING", TimeSpan.FromSeconds(15));
        var timedOut = await Assert.ThrowsAsync<TimeoutException>(() => emulator.WaitForFinalAsync(stays, TimeSpan.FromMilliseconds(300)));

        Assert.Equal("SUCCEEDED", final.Status);
        Assert.NotNull(running.StartedAt);
        Assert.Contains("00:00:00.3", timedOut.Message, StringComparison.Ordinal);
    }

    private static async Task<List<JsonElement>> ListAsync(BatchHttp http, object request)
    {
        var response = await http.CallAsync("ListJobs", request);
        Assert.True(response.Status == HttpStatusCode.OK, response.ToString());
        Assert.False(response.Body.Has("nextToken"), "a single page must carry no nextToken");
        return [.. response.Body.GetProperty("jobSummaryList").EnumerateArray()];
    }
}

using System.Diagnostics;
using System.Net;
using Batchkeeper.BatchEmulator.Tests.Infrastructure;

namespace Batchkeeper.BatchEmulator.Tests;

/// <summary>Request faults (throttling, 5xx, latency, stalls) and random job failures, set over HTTP.</summary>
public sealed class FaultTests
{
    private static readonly string[] NoJobs = [];

    [Fact]
    public async Task ThrottleRate_IsRoughlyHonoured_OnlyForTheChosenOperation_AndTheSeedRepeatsTheSequence()
    {
        await using var emulator = await BatchEmulator.StartAsync();
        using var http = new BatchHttp(emulator.BaseAddress);
        var faults = new { throttleRate = 0.3, seed = 42, operations = new[] { "DescribeJobs" } };

        await http.ControlAsync(HttpMethod.Put, "faults", faults);
        var firstRun = await DescribeManyAsync(http, 300);
        var submit = await http.CallAsync("SubmitJob", new { jobName = "not-throttled", jobQueue = "q", jobDefinition = "d" });
        await http.ControlAsync(HttpMethod.Put, "faults", faults); // same seed: same draws
        var secondRun = await DescribeManyAsync(http, 300);

        var throttled = firstRun.Count(r => r.Status == HttpStatusCode.TooManyRequests);
        Assert.InRange(throttled, 60, 120); // 90 expected; ±3.8 standard deviations
        Assert.All(firstRun.Where(r => r.Status == HttpStatusCode.TooManyRequests), r =>
        {
            Assert.Equal("TooManyRequestsException", r.ErrorType);
            Assert.Equal("application/json", r.ContentType);
            Assert.False(string.IsNullOrEmpty(r.Body.Str("message")));
        });
        Assert.All(firstRun.Where(r => r.Status != HttpStatusCode.TooManyRequests), r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Equal(HttpStatusCode.OK, submit.Status);
        Assert.Equal(firstRun.Select(r => r.Status), secondRun.Select(r => r.Status));
        Assert.Equal(throttled * 2, emulator.Requests.Count(r => r.Fault == "Throttle"));
    }

    [Fact]
    public async Task ServerErrorRate_AnswersServerException_AndAddedLatency_SlowsEveryAnswer()
    {
        await using var emulator = await BatchEmulator.StartAsync();
        using var http = new BatchHttp(emulator.BaseAddress);

        await http.ControlAsync(HttpMethod.Put, "faults", new { serverErrorRate = 1.0 });
        var failed = await http.CallAsync("DescribeJobs", new { jobs = NoJobs });
        await http.ControlAsync(HttpMethod.Put, "faults", new { addedLatency = "00:00:00.300" });
        var clock = Stopwatch.StartNew();
        var slow = await http.CallAsync("DescribeJobs", new { jobs = NoJobs });
        var slowTook = clock.Elapsed;
        await http.ControlAsync(HttpMethod.Delete, "faults");
        var fast = await http.CallAsync("DescribeJobs", new { jobs = NoJobs });
        var recorded = emulator.RequestsFor("DescribeJobs");

        Assert.Equal(HttpStatusCode.InternalServerError, failed.Status);
        Assert.Equal("ServerException", failed.ErrorType);
        Assert.Equal(HttpStatusCode.OK, slow.Status);
        Assert.True(slowTook >= TimeSpan.FromMilliseconds(280), $"took {slowTook}"); // timers may fire a few ms early
        Assert.Equal(HttpStatusCode.OK, fast.Status);
        Assert.Equal(["ServerError", null, null], recorded.Select(r => r.Fault));
        Assert.True(recorded[2].Duration < recorded[1].Duration, $"without latency {recorded[2].Duration}, with {recorded[1].Duration}");
    }

    [Fact]
    public async Task Stall_BeforeProcessing_DropsAnAbandonedRequest_WhileStallAfterProcessing_CarriesItOut()
    {
        await using var emulator = await BatchEmulator.StartAsync();
        using var http = new BatchHttp(emulator.BaseAddress);

        await http.ControlAsync(HttpMethod.Put, "faults", new { stallRate = 1.0, stallDuration = "00:00:20", operations = new[] { "SubmitJob" } });
        await GiveUpOnAStalledSubmitAsync(emulator, http, "stalled-before", recordedBefore: 0);
        await http.ControlAsync(HttpMethod.Put, "faults", new
        {
            stallRate = 1.0, stallDuration = "00:00:20", stallAfterProcessing = true, operations = new[] { "SubmitJob" },
        });
        await GiveUpOnAStalledSubmitAsync(emulator, http, "stalled-after", recordedBefore: 1);

        Assert.Equal(["stalled-after"], emulator.Jobs.Select(j => j.JobName));
        Assert.All(emulator.RequestsFor("SubmitJob"), r => Assert.Equal(0, r.StatusCode)); // nobody got an answer
        Assert.Equal(["StallBefore", "StallAfter"], emulator.RequestsFor("SubmitJob").Select(r => r.Fault));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Stall_ForAPatientClient_DelaysTheAnswer_AndTheWorkOnlyWhenBeforeProcessing(bool afterProcessing)
    {
        var stall = TimeSpan.FromSeconds(1);
        await using var emulator = await BatchEmulator.StartAsync(new BatchEmulatorOptions
        {
            Faults = new FaultSettings { StallRate = 1, StallDuration = stall, StallAfterProcessing = afterProcessing },
        });
        using var http = new BatchHttp(emulator.BaseAddress);

        var id = await http.SubmitAsync("patient");

        var request = Assert.Single(emulator.RequestsFor("SubmitJob"));
        var created = emulator.GetJob(id)!.CreatedAt;
        Assert.True(request.Duration >= stall - TimeSpan.FromMilliseconds(20), $"answered after {request.Duration}");
        Assert.Equal(afterProcessing, created < request.ReceivedAt + stall - TimeSpan.FromMilliseconds(20)); // created before the stall ended?
    }

    [Fact]
    public async Task JobFailureRate_FailsAboutThatShareOfJobs()
    {
        await using var emulator = await BatchEmulator.StartAsync(new BatchEmulatorOptions
        {
            Faults = new FaultSettings { JobFailureRate = 0.5, JobFailureExitCode = 9, Seed = 7 },
        });
        using var http = new BatchHttp(emulator.BaseAddress);

        for (var i = 0; i < 40; i++)
        {
            await http.SubmitAsync($"random-{i}");
        }

        await emulator.WaitUntilAsync(jobs => jobs.Count == 40 && jobs.All(j => j.IsFinal), TimeSpan.FromSeconds(20));
        var failed = emulator.Jobs.Where(j => j.Status == "FAILED").ToList();

        Assert.InRange(failed.Count, 8, 32); // 20 expected; ±3.8 standard deviations
        Assert.All(failed, j => Assert.Equal(9, j.ExitCode));
    }

    [Fact]
    public async Task ControlEndpoints_RejectInvalidFaults_WithTheProblem()
    {
        await using var emulator = await BatchEmulator.StartAsync();
        using var http = new BatchHttp(emulator.BaseAddress);

        using var badRate = await http.Client.PutAsync(
            new Uri("/_emulator/faults", UriKind.Relative), new StringContent("""{"throttleRate": 2}""", System.Text.Encoding.UTF8, "application/json"));
        using var badRule = await http.Client.PostAsync(
            new Uri("/_emulator/faults/rules", UriKind.Relative), new StringContent("""{"exitCode": 1}""", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, badRate.StatusCode);
        Assert.Contains("ThrottleRate", await badRate.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, badRule.StatusCode);
        Assert.Contains("namePrefix or nameRegex", await badRule.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(FaultSettings.None, emulator.Faults.Current);
    }

    /// <summary>Sends a SubmitJob, waits until the emulator holds it, gives up on it as a timing-out client would.</summary>
    private static async Task GiveUpOnAStalledSubmitAsync(BatchEmulator emulator, BatchHttp http, string jobName, int recordedBefore)
    {
        using var giveUp = new CancellationTokenSource();
        var body = $$"""{"jobName":"{{jobName}}","jobQueue":"q","jobDefinition":"d"}""";
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        var submit = http.Client.PostAsync(new Uri("/v1/submitjob", UriKind.Relative), content, giveUp.Token);

        await Eventually.WaitAsync(
            () => Task.FromResult(emulator.RequestsInFlight), n => n == 1, $"SubmitJob {jobName} to stall", TimeSpan.FromSeconds(10));
        await giveUp.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => submit);
        await Eventually.WaitAsync(
            () => Task.FromResult(emulator.RequestsFor("SubmitJob").Count),
            n => n == recordedBefore + 1, $"the abandoned SubmitJob {jobName} to be recorded", TimeSpan.FromSeconds(10));
    }

    private static async Task<List<BatchResponse>> DescribeManyAsync(BatchHttp http, int count)
    {
        var responses = new List<BatchResponse>();
        for (var i = 0; i < count; i++)
        {
            responses.Add(await http.CallAsync("DescribeJobs", new { jobs = NoJobs }));
        }

        return responses;
    }
}

using System.Text.Json;
using Batchkeeper.BatchEmulator;
using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Ports;
using Batchkeeper.Daemon.Aws;
using Batchkeeper.Daemon.Aws.Batch;
using Batchkeeper.Daemon.Tests.Aws.Fakes;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Aws;

/// <summary>The Batch job backend against the emulator over HTTP.</summary>
public sealed class AwsBatchJobBackendTests
{
    /// <summary>How long an answer may take once the clock says it is due (a failure, not a wait: it is never reached when right).</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static JobSubmission Job(string name, params string[] dependsOn) =>
        new(name, new JobTemplate("q", "def:1", new Dictionary<string, string>(), ["run"], new Dictionary<string, string>(), 1, 512, null,
            new Dictionary<string, string>()), dependsOn, "/", new JobContext("p", "w", "s", "a"));

    [Fact]
    public async Task DescribeRequestsOfConcurrentPasses_AreMergedIntoCallsOfAtMost100Ids()
    {
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions { RunDuration = TimeSpan.FromMinutes(10) });
        using var client = TestClients.Batch(emulator.BaseAddress);
        var clock = new WaitCountingClock();
        var backend = new AwsBatchJobBackend(client, describeWindow: TimeSpan.FromMilliseconds(200), clock: clock);
        var ids = await SubmitAsync(backend, 250);

        emulator.ClearRequests();
        // Three workflows' passes ask at the same moment, with 120, 90 and 40 ids: the two full calls of 100 go at once,
        // the remaining 50 wait for the window, which on this clock does not pass until the test says so.
        var asked = new[]
        {
            backend.DescribeAsync(ids[..120], CancellationToken.None),
            backend.DescribeAsync(ids[120..210], CancellationToken.None),
            backend.DescribeAsync(ids[210..], CancellationToken.None),
        };
        await Eventually.WaitAsync(() => DescribeCallsAnswered(emulator) == 2, "the two full calls of 100 ids");
        Assert.False(asked[2].IsCompleted, "the last 40 ids were answered before the window passed");
        Assert.Equal(0, emulator.RequestsInFlight);

        clock.Advance(TimeSpan.FromMilliseconds(200));
        var answers = await Task.WhenAll(asked).WaitAsync(Deadline);

        Assert.Equal([120, 90, 40], answers.Select(a => a.Count));
        Assert.Equal(ids[120..210], answers[1].Select(d => d.JobId));
        var calls = emulator.RequestsFor(BatchOperations.DescribeJobs);
        Assert.Equal([100, 100, 50], calls.Select(c => JsonDocument.Parse(c.Body).RootElement.GetProperty("jobs").GetArrayLength()));
    }

    [Fact]
    public async Task DescribeRequestsOfPassesInFlight_WaitForEveryPass_SoThatStaggeredArrivalsShareOneCall()
    {
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions { RunDuration = TimeSpan.FromMinutes(10) });
        using var client = TestClients.Batch(emulator.BaseAddress);
        var inFlight = 3;
        var clock = new WaitCountingClock();
        // The longest wait is far off: only the third pass's request can release the call.
        var backend = new AwsBatchJobBackend(client, passesInFlight: () => Volatile.Read(ref inFlight), describeMaxWait: TimeSpan.FromMinutes(5), clock: clock);
        var ids = await SubmitAsync(backend, 60);

        emulator.ClearRequests();
        // Three passes reach their DescribeJobs 150 ms apart, far beyond the 20 ms window: one call of 60 ids.
        var first = backend.DescribeAsync(ids[..20], CancellationToken.None);
        await clock.AdvanceAndWaitForTheNextWaitAsync(TimeSpan.FromMilliseconds(150), () => DescribeCallsStarted(emulator) > 0);
        var second = backend.DescribeAsync(ids[20..40], CancellationToken.None);
        await clock.AdvanceAndWaitForTheNextWaitAsync(TimeSpan.FromMilliseconds(150), () => DescribeCallsStarted(emulator) > 0);
        Assert.False(first.IsCompleted || second.IsCompleted);
        Assert.Equal(0, DescribeCallsStarted(emulator));
        var third = backend.DescribeAsync(ids[40..], CancellationToken.None);
        var answers = await Task.WhenAll(first, second, third).WaitAsync(Deadline);

        Assert.Equal([ids[..20], ids[20..40], ids[40..]], answers.Select(a => a.Select(d => d.JobId).ToList()));
        var call = Assert.Single(emulator.RequestsFor(BatchOperations.DescribeJobs));
        Assert.Equal(60, JsonDocument.Parse(call.Body).RootElement.GetProperty("jobs").GetArrayLength());
    }

    [Fact]
    public async Task DescribeRequestOfPassesInFlight_WhenAPassNeverAsks_WaitsASecondAtMost()
    {
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions { RunDuration = TimeSpan.FromMinutes(10) });
        using var client = TestClients.Batch(emulator.BaseAddress);
        var clock = new WaitCountingClock();
        // Three passes in flight, one asks: the default longest wait (1 s) releases it.
        var backend = new AwsBatchJobBackend(client, passesInFlight: () => 3, clock: clock);
        var ids = await SubmitAsync(backend, 10);

        emulator.ClearRequests();
        var asked = backend.DescribeAsync(ids, CancellationToken.None);
        await clock.AdvanceAndWaitForTheNextWaitAsync(TimeSpan.FromMilliseconds(999), () => DescribeCallsStarted(emulator) > 0);
        Assert.False(asked.IsCompleted);
        Assert.Equal(0, DescribeCallsStarted(emulator));

        // Past the second (by less than a few 20 ms windows, however the timer's continuation is scheduled).
        clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(10, (await asked.WaitAsync(Deadline)).Count);
        Assert.Single(emulator.RequestsFor(BatchOperations.DescribeJobs));
    }

    private static async Task<List<string>> SubmitAsync(AwsBatchJobBackend backend, int count)
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            ids.Add(await backend.SubmitAsync(Job($"bk-w-a-s{i}-0123456789"), CancellationToken.None));
        }

        return ids;
    }

    private static int DescribeCallsAnswered(Emulator emulator) => emulator.RequestsFor(BatchOperations.DescribeJobs).Count;

    private static int DescribeCallsStarted(Emulator emulator) => DescribeCallsAnswered(emulator) + emulator.RequestsInFlight;

    [Fact]
    public async Task UnknownQueue_IsARejection_NotARetry()
    {
        var options = new BatchEmulatorOptions { Strict = true };
        options.JobQueues.Add(new JobQueueOptions { Name = "q" });
        options.JobDefinitions.Add(new JobDefinitionOptions { Name = "def" });
        await using var emulator = await Emulator.StartAsync(options);
        using var client = TestClients.Batch(emulator.BaseAddress);
        var backend = new AwsBatchJobBackend(client);

        var job = Job("n");
        var error = await Assert.ThrowsAsync<JobRejectedException>(() => backend.SubmitAsync(job with { Job = job.Job with { Queue = "nope" } }, CancellationToken.None));

        Assert.StartsWith("ClientException:", error.Message, StringComparison.Ordinal);
        Assert.Single(emulator.RequestsFor(BatchOperations.SubmitJob));
    }

    [Fact]
    public async Task ExpiredCredentialsAtSubmit_FailTheCall_NotTheJob()
    {
        // The token can expire between a pass's ListJobs and its SubmitJob: that says nothing about the job, so the slot
        // must not become misconfigured (failed for good); the pass fails and the same submission succeeds once renewed.
        await using var emulator = await Emulator.StartAsync();
        emulator.ExpireSessionToken("old-token");
        using var expired = TestClients.Batch(emulator.BaseAddress, seams: new AwsClientSeams
        {
            Credentials = new Amazon.Runtime.SessionAWSCredentials(TestClients.AccessKey, TestClients.SecretKey, "old-token"),
        });

        var error = await Assert.ThrowsAsync<BatchServiceException>(() => new AwsBatchJobBackend(expired).SubmitAsync(Job("n"), CancellationToken.None));

        Assert.Equal("ExpiredTokenException", error.ErrorCode);
        Assert.True(error.IsAuthorizationError);
        Assert.Contains("credentials in use were rejected", error.Message, StringComparison.Ordinal);
        Assert.Empty(emulator.Jobs);
        using var renewed = TestClients.Batch(emulator.BaseAddress, seams: new AwsClientSeams
        {
            Credentials = new Amazon.Runtime.SessionAWSCredentials(TestClients.AccessKey, TestClients.SecretKey, "new-token"),
        });
        await new AwsBatchJobBackend(renewed).SubmitAsync(Job("n"), CancellationToken.None);
        Assert.Single(emulator.Jobs);
    }

    [Fact]
    public async Task Listing_FindsEveryJobOfTheWorkflowAcrossPages_ExactPrefixOnly()
    {
        await using var emulator = await Emulator.StartAsync();
        using var client = TestClients.Batch(emulator.BaseAddress);
        var backend = new AwsBatchJobBackend(client);
        for (var i = 0; i < 1005; i++)
        {
            await backend.SubmitAsync(Job($"bk-wf-a-s{i}-0123456789"), CancellationToken.None);
        }

        await backend.SubmitAsync(Job("bk-wf2-a-s1-0123456789"), CancellationToken.None);
        await backend.SubmitAsync(Job("BK-WF-a-s1-0123456789"), CancellationToken.None);

        var listed = await backend.ListByNamePrefixAsync("q", "bk-wf-", CancellationToken.None);

        Assert.Equal(1005, listed.Count);
        Assert.All(listed, j => Assert.StartsWith("bk-wf-", j.JobName, StringComparison.Ordinal));
        // With a JOB_NAME filter Batch pages by 100: 1,005 matching jobs (plus one of another case) take 11 pages.
        Assert.Equal(11, emulator.RequestsFor(BatchOperations.ListJobs).Count);
    }
}

using System.Text.Json;
using Batchkeeper.BatchEmulator;
using Batchkeeper.Core.Ports;
using Batchkeeper.Daemon.Aws;
using Batchkeeper.Daemon.Tests.Aws.Fakes;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Aws;

/// <summary>The Batch job backend against the emulator over HTTP.</summary>
public sealed class AwsBatchJobBackendTests
{
    private static JobSubmission Job(string name, params string[] dependsOn) =>
        new(name, "q", "def:1", new Dictionary<string, string>(), ["run"], new Dictionary<string, string>(), 1, 512, null,
            new Dictionary<string, string>(), dependsOn, "/", new JobContext("p", "w", "s", "a"));

    [Fact]
    public async Task DescribeRequestsOfConcurrentPasses_AreMergedIntoCallsOfAtMost100Ids()
    {
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions { RunDuration = TimeSpan.FromMinutes(10) });
        using var client = TestClients.Batch(emulator.BaseAddress);
        var backend = new AwsBatchJobBackend(client, describeWindow: TimeSpan.FromMilliseconds(200));
        var ids = new List<string>();
        for (var i = 0; i < 250; i++)
        {
            ids.Add(await backend.SubmitAsync(Job($"bk-w-a-s{i}-0123456789"), CancellationToken.None));
        }

        emulator.ClearRequests();
        // Three workflows' passes ask at the same moment, with 120, 90 and 40 ids.
        var answers = await Task.WhenAll(
            backend.DescribeAsync(ids[..120], CancellationToken.None),
            backend.DescribeAsync(ids[120..210], CancellationToken.None),
            backend.DescribeAsync(ids[210..], CancellationToken.None));

        Assert.Equal([120, 90, 40], answers.Select(a => a.Count));
        Assert.Equal(ids[120..210], answers[1].Select(d => d.JobId));
        var calls = emulator.RequestsFor(BatchOperations.DescribeJobs);
        Assert.Equal(3, calls.Count);
        Assert.All(calls, c => Assert.InRange(JsonDocument.Parse(c.Body).RootElement.GetProperty("jobs").GetArrayLength(), 1, 100));
    }

    [Fact]
    public async Task DescribeRequestsOfPassesInFlight_WaitForEveryPass_SoThatStaggeredArrivalsShareOneCall()
    {
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions { RunDuration = TimeSpan.FromMinutes(10) });
        using var client = TestClients.Batch(emulator.BaseAddress);
        var inFlight = 3;
        // However slow the machine, nothing is sent before every pass has asked (the longest wait is far off).
        var backend = new AwsBatchJobBackend(client, passesInFlight: () => Volatile.Read(ref inFlight), describeMaxWait: TimeSpan.FromMinutes(5));
        var ids = new List<string>();
        for (var i = 0; i < 60; i++)
        {
            ids.Add(await backend.SubmitAsync(Job($"bk-w-a-s{i}-0123456789"), CancellationToken.None));
        }

        emulator.ClearRequests();
        // Three passes reach their DescribeJobs 150 ms apart, far beyond the 20 ms window: one call of 60 ids.
        var first = backend.DescribeAsync(ids[..20], CancellationToken.None);
        await Task.Delay(150);
        var second = backend.DescribeAsync(ids[20..40], CancellationToken.None);
        await Task.Delay(150);
        Assert.False(first.IsCompleted || second.IsCompleted);
        var third = backend.DescribeAsync(ids[40..], CancellationToken.None);
        var answers = await Task.WhenAll(first, second, third);

        Assert.Equal([ids[..20], ids[20..40], ids[40..]], answers.Select(a => a.Select(d => d.JobId).ToList()));
        var call = Assert.Single(emulator.RequestsFor(BatchOperations.DescribeJobs));
        Assert.Equal(60, JsonDocument.Parse(call.Body).RootElement.GetProperty("jobs").GetArrayLength());

        // A pass that never asks holds the others up a second at most (the default longest wait).
        emulator.ClearRequests();
        var impatient = new AwsBatchJobBackend(client, passesInFlight: () => Volatile.Read(ref inFlight));
        var started = DateTime.UtcNow;
        Assert.Equal(10, (await impatient.DescribeAsync(ids[..10], CancellationToken.None)).Count);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromMilliseconds(900), TimeSpan.FromSeconds(10));
        Assert.Single(emulator.RequestsFor(BatchOperations.DescribeJobs));
    }

    [Fact]
    public async Task UnknownQueue_IsARejection_NotARetry()
    {
        var options = new BatchEmulatorOptions { Strict = true };
        options.JobQueues.Add(new JobQueueOptions { Name = "q" });
        options.JobDefinitions.Add(new JobDefinitionOptions { Name = "def" });
        await using var emulator = await Emulator.StartAsync(options);
        using var client = TestClients.Batch(emulator.BaseAddress);
        var backend = new AwsBatchJobBackend(client);

        var error = await Assert.ThrowsAsync<JobRejectedException>(() => backend.SubmitAsync(Job("n") with { Queue = "nope" }, CancellationToken.None));

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

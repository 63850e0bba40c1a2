using Batchkeeper.Daemon.Aws;
using Batchkeeper.Daemon.Aws.Batch;
using Batchkeeper.Daemon.Aws.Batch.Model;
using Batchkeeper.Daemon.Tests.Aws.Fakes;
using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Aws;

/// <summary>
/// SubmitJob is not idempotent: the client repeats it only when Batch certainly did not act on it,
/// so one slot never gets two jobs from the client's own retries.
/// </summary>
public sealed class SubmitJobRetryTests
{
    private static readonly SubmitJobRequest Request = new() { JobName = "bk-wf-a-s1-0123456789", JobQueue = "q", JobDefinition = "d:1" };
    private const string Created = """{"jobName":"bk-wf-a-s1-0123456789","jobId":"j1"}""";

    [Fact]
    public async Task Throttled_IsRetried()
    {
        await using var server = LoopbackHttpServer.Scripted(ServerReply.AwsError(429, "TooManyRequestsException", "slow down"), ServerReply.Ok(Created));
        using var client = TestClients.Batch(server.BaseUri);

        var response = await client.SubmitJobAsync(Request);

        Assert.Equal("j1", response.JobId);
        Assert.Equal(2, server.RequestCount);
    }

    [Fact]
    public async Task ServerError_IsNotRetried_BecauseTheJobMayExist()
    {
        await using var server = LoopbackHttpServer.Scripted(ServerReply.AwsError(500, "ServerException", "oops"), ServerReply.Ok(Created));
        using var client = TestClients.Batch(server.BaseUri);

        var error = await Assert.ThrowsAsync<BatchServiceException>(() => client.SubmitJobAsync(Request));

        Assert.Equal("ServerException", error.ErrorCode);
        Assert.Equal(1, server.RequestCount);
    }

    [Fact]
    public async Task DroppedConnection_IsNotRetried()
    {
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Drop, ServerReply.Ok(Created));
        using var client = TestClients.Batch(server.BaseUri);

        await Assert.ThrowsAsync<HttpRequestException>(() => client.SubmitJobAsync(Request));

        Assert.Equal(1, server.RequestCount);
    }

    [Fact]
    public async Task RefusedConnection_IsRetried_BecauseNothingWasSent()
    {
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Ok(Created));
        await using var relay = new TcpOutage(server.BaseUri);
        await relay.DownAsync();
        // On a manual clock the backoff (half of 2 s) lasts until the test moves it, with Batch back by then.
        var clock = new WaitCountingClock();
        using var client = TestClients.Batch(relay.Address, o =>
        {
            o.RetryBaseDelay = TimeSpan.FromSeconds(2);
            o.RetryMaxDelay = TimeSpan.FromSeconds(2);
        }, new AwsClientSeams { TimeProvider = clock, Random = () => 0.5 });

        var call = client.SubmitJobAsync(Request);
        await Eventually.WaitAsync(() => clock.DueTimes.Contains(TimeSpan.FromSeconds(1)) || call.IsCompleted, "the backoff after the refused connection");
        Assert.False(call.IsCompleted, "the refused SubmitJob was not retried");
        relay.Up();
        clock.Advance(TimeSpan.FromSeconds(1));

        var response = await call.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("j1", response.JobId);
        Assert.Equal(1, server.RequestCount);
    }

    [Fact]
    public async Task ThrottledOnEveryAttempt_IsRetriedUpToMaxAttempts_AndThenReportsTheThrottling()
    {
        await using var server = LoopbackHttpServer.Scripted(ServerReply.AwsError(429, "TooManyRequestsException", "slow down"));
        using var client = TestClients.Batch(server.BaseUri, o => o.MaxAttempts = 3);

        var error = await Assert.ThrowsAsync<BatchServiceException>(() => client.SubmitJobAsync(Request));

        Assert.True(error.IsThrottling);
        Assert.Equal(3, server.RequestCount);
    }

    [Fact]
    public async Task StalledResponse_TimesOutOnce_WithoutASecondSubmission()
    {
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Stall, ServerReply.Ok(Created));
        // Long enough for the first request of a cold process to reach the server on a loaded machine (at 300 ms it
        // often did not, beside other test classes, and the server had seen nothing); the stall never ends anyway.
        using var client = TestClients.Batch(server.BaseUri, o => o.AttemptTimeout = TimeSpan.FromSeconds(2));

        await Assert.ThrowsAsync<TimeoutException>(() => client.SubmitJobAsync(Request));

        Assert.Equal(1, server.RequestCount);
    }

    [Fact]
    public void OnlyFailuresBeforeSending_CountAsNeverSent()
    {
        Assert.True(AwsResiliencePolicy.NeverSent(new HttpRequestException(HttpRequestError.ConnectionError, "refused")));
        Assert.True(AwsResiliencePolicy.NeverSent(new HttpRequestException(HttpRequestError.NameResolutionError, "no such host")));
        Assert.False(AwsResiliencePolicy.NeverSent(new HttpRequestException(HttpRequestError.ResponseEnded, "dropped")));
        Assert.False(AwsResiliencePolicy.NeverSent(new IOException("reset by peer")));
    }
}

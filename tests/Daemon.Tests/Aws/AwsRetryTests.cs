using System.Diagnostics;
using System.Globalization;
using System.Net;
using Amazon.Runtime;
using Batchkeeper.Daemon.Aws.Batch;
using Batchkeeper.Daemon.Tests.Aws.Batch;
using Batchkeeper.Daemon.Aws.Batch.Model;
using Batchkeeper.Daemon.Tests.Aws.Fakes;
using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Aws;

/// <summary>Retries through the real pipeline against a real local server.</summary>
public sealed class AwsRetryTests
{
    private static readonly DescribeJobsRequest AnyRequest = new() { Jobs = ["j1"] };

    [Fact]
    public async Task ThrottlingThenServerError_IsRetriedUntilItSucceeds_EachAttemptSignedAfresh()
    {
        await using var server = LoopbackHttpServer.Scripted(
            ServerReply.AwsError(429, "TooManyRequestsException", "Too Many Requests"),
            ServerReply.AwsError(500, "ServerException", "Internal failure"),
            ServerReply.Ok("""{"jobs":[{"jobId":"j1","jobName":"n","jobQueue":"q","status":"RUNNING","jobDefinition":"d"}]}"""));
        var credentials = new CountingCredentials(_ => new ImmutableCredentials(TestClients.AccessKey, TestClients.SecretKey, null));
        using var client = TestClients.Batch(server.BaseUri, seams: new AwsClientSeams { Credentials = credentials });

        var response = await client.DescribeJobsAsync(AnyRequest);

        Assert.Equal(JobStatus.Running, Assert.Single(response.Jobs).Status);
        Assert.Equal(3, server.RequestCount);
        Assert.Equal(3, credentials.Calls);
        foreach (var attempt in server.Requests)
        {
            Assert.Equal("/v1/describejobs", attempt.Path);
            BatchWireConformanceTests.AssertSameJson("""{"jobs":["j1"]}""", attempt.BodyText);
            BatchWireConformanceTests.AssertSignedForBatch(attempt);
        }
    }

    [Fact]
    public async Task ThrottlingCodeOnA400_IsRetried()
    {
        await using var server = LoopbackHttpServer.Scripted(
            ServerReply.AwsError(400, "ThrottlingException", "Rate exceeded"),
            ServerReply.Ok());
        using var client = TestClients.Batch(server.BaseUri);

        await client.DescribeJobsAsync(AnyRequest);

        Assert.Equal(2, server.RequestCount);
    }

    [Theory]
    [InlineData(400, "ClientException")]
    [InlineData(403, "AccessDeniedException")]
    [InlineData(404, "ResourceNotFoundException")]
    [InlineData(501, "NotImplemented")]
    public async Task ClientErrors_AreNotRetried(int status, string code)
    {
        await using var server = LoopbackHttpServer.Scripted(ServerReply.AwsError(status, code, "no"), ServerReply.Ok());
        using var client = TestClients.Batch(server.BaseUri);

        var error = await Assert.ThrowsAsync<BatchServiceException>(() => client.DescribeJobsAsync(AnyRequest));

        Assert.Equal(code, error.ErrorCode);
        Assert.Equal(1, server.RequestCount);
    }

    [Fact]
    public async Task ServerErrorOnEveryAttempt_StopsAtMaxAttempts_WithTheLastError()
    {
        await using var server = LoopbackHttpServer.Scripted(ServerReply.AwsError(503, "ServerException", "Service unavailable"));
        using var client = TestClients.Batch(server.BaseUri, o => o.MaxAttempts = 3);

        var error = await Assert.ThrowsAsync<BatchServiceException>(() => client.DescribeJobsAsync(AnyRequest));

        Assert.Equal("ServerException", error.ErrorCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, error.StatusCode);
        Assert.Equal(3, server.RequestCount);
    }

    [Fact]
    public async Task DroppedConnection_IsRetried()
    {
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Drop, ServerReply.Ok());
        using var client = TestClients.Batch(server.BaseUri);

        await client.DescribeJobsAsync(AnyRequest);

        Assert.Equal(2, server.RequestCount);
    }

    [Fact]
    public async Task DroppedConnectionOnEveryAttempt_ThrowsTheTransportError_AfterMaxAttempts()
    {
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Drop);
        using var client = TestClients.Batch(server.BaseUri, o => o.MaxAttempts = 3);

        await Assert.ThrowsAsync<HttpRequestException>(() => client.DescribeJobsAsync(AnyRequest));

        Assert.Equal(3, server.RequestCount);
    }

    [Fact]
    public async Task StalledResponse_TimesOutAndIsRetried_WithANewSignature()
    {
        // The attempt timeout is over a second, so the retry is signed in a later second than the first
        // attempt: a re-used signature would carry the same x-amz-date.
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Stall, ServerReply.Ok());
        using var client = TestClients.Batch(server.BaseUri, o => o.AttemptTimeout = TimeSpan.FromMilliseconds(1100));

        var clock = Stopwatch.StartNew();
        await client.DescribeJobsAsync(AnyRequest);

        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(1000), $"returned after {clock.Elapsed}, before the attempt timeout");
        var attempts = server.Requests;
        Assert.Equal(2, attempts.Count);
        Assert.NotEqual(attempts[0].Header("x-amz-date"), attempts[1].Header("x-amz-date"));
        Assert.NotEqual(attempts[0].Header("Authorization"), attempts[1].Header("Authorization"));
        BatchWireConformanceTests.AssertSignedForBatch(attempts[1]);
    }

    [Fact]
    public async Task ResponseStalledHalfWayThroughTheBody_TimesOutAndIsRetried()
    {
        await using var server = LoopbackHttpServer.Scripted(ServerReply.StallMidBody, ServerReply.Ok());
        using var client = TestClients.Batch(server.BaseUri, o => o.AttemptTimeout = TimeSpan.FromMilliseconds(300));

        var response = await client.DescribeJobsAsync(AnyRequest).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Empty(response.Jobs);
        Assert.Equal(2, server.RequestCount);
    }

    [Fact]
    public async Task StalledOnEveryAttempt_ThrowsTimeoutException_AfterMaxAttempts()
    {
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Stall);
        using var client = TestClients.Batch(server.BaseUri, o =>
        {
            o.MaxAttempts = 2;
            o.AttemptTimeout = TimeSpan.FromMilliseconds(200);
        });

        var error = await Assert.ThrowsAsync<TimeoutException>(() => client.DescribeJobsAsync(AnyRequest));

        Assert.Contains("/v1/describejobs", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, server.RequestCount);
    }

    [Fact]
    public async Task Cancellation_DuringBackoff_StopsAtOnce()
    {
        await using var server = LoopbackHttpServer.Scripted(ServerReply.AwsError(500, "ServerException", "boom"));
        using var client = TestClients.Batch(server.BaseUri, o =>
        {
            o.RetryBaseDelay = TimeSpan.FromMinutes(5);
            o.RetryMaxDelay = TimeSpan.FromMinutes(5);
        }, new AwsClientSeams { Random = () => 0.99 });
        using var cancellation = new CancellationTokenSource();

        var call = client.DescribeJobsAsync(AnyRequest, cancellation.Token);
        await Eventually.WaitAsync(() => server.RequestCount == 1, "the first attempt");
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, server.RequestCount);
    }

    [Fact]
    public async Task Cancellation_OfAStalledAttempt_IsNotRetried()
    {
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Stall, ServerReply.Ok());
        using var client = TestClients.Batch(server.BaseUri);
        using var cancellation = new CancellationTokenSource();

        var call = client.DescribeJobsAsync(AnyRequest, cancellation.Token);
        await Eventually.WaitAsync(() => server.RequestCount == 1, "the first attempt");
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, server.RequestCount);
    }

    [Fact]
    public async Task Disposal_WithACallInFlight_CutsTheCallShort_SoTheContainerIsDisposedAtOnce()
    {
        // Polly's pipeline, disposed with the container, waits up to 30 s for executions still in flight (a DescribeJobs
        // merged for several passes runs on no pass's token): the client, disposed first, must end its calls itself.
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Stall);
        var client = TestClients.Batch(server.BaseUri);
        var call = client.DescribeJobsAsync(AnyRequest);
        await Eventually.WaitAsync(() => server.RequestCount == 1, "the call in flight");

        var disposal = Stopwatch.StartNew();
        client.Dispose();

        Assert.True(disposal.Elapsed < TimeSpan.FromSeconds(15), $"disposal took {disposal.Elapsed}");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, server.RequestCount);
    }

    [Fact]
    public async Task Retries_WaitTheJitteredBackoffOfThePolicy()
    {
        await using var server = LoopbackHttpServer.Scripted(
            ServerReply.AwsError(429, "TooManyRequestsException", "slow down"),
            ServerReply.AwsError(429, "TooManyRequestsException", "slow down"),
            ServerReply.Ok());
        var time = new RecordingTimeProvider();
        using var client = TestClients.Batch(server.BaseUri, o =>
        {
            o.RetryBaseDelay = TimeSpan.FromMilliseconds(40);
            o.RetryMaxDelay = TimeSpan.FromSeconds(1);
            o.AttemptTimeout = TimeSpan.FromSeconds(7);
        }, new AwsClientSeams { TimeProvider = time, Random = () => 0.5 });

        await client.DescribeJobsAsync(AnyRequest);

        // Half (the random draw) of 40 ms, then half of 80 ms; the other timers are the 7 s attempt timeouts.
        var backoffs = time.DueTimes.Where(d => d != TimeSpan.FromSeconds(7)).ToList();
        Assert.Equal([TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(40)], backoffs);
        Assert.Equal(3, time.DueTimes.Count(d => d == TimeSpan.FromSeconds(7)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RetryAfter_InSecondsOrAsADate_IsTheWaitBeforeTheRetry(bool asDate)
    {
        // With a random draw of 0 the backoff is no wait at all: the only 3 s timer is the one the service asked for.
        var clock = new WaitCountingClock();
        var retryAfter = asDate ? (clock.GetUtcNow() + TimeSpan.FromSeconds(3)).ToString("r", CultureInfo.InvariantCulture) : "3";
        await using var server = LoopbackHttpServer.Scripted(Throttled(retryAfter), ServerReply.Ok());
        using var client = TestClients.Batch(server.BaseUri, o => o.RetryMaxDelay = TimeSpan.FromMinutes(1), new AwsClientSeams { TimeProvider = clock, Random = () => 0.0 });

        var call = client.DescribeJobsAsync(AnyRequest);
        await Eventually.WaitAsync(() => clock.DueTimes.Contains(TimeSpan.FromSeconds(3)) || call.IsCompleted, "the wait Retry-After asked for");
        Assert.False(call.IsCompleted, "retried without waiting for Retry-After");
        Assert.Equal(1, server.RequestCount);
        clock.Advance(TimeSpan.FromSeconds(3));

        await call.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, server.RequestCount);
    }

    [Fact]
    public async Task RetryAfter_BeyondTheMaxDelay_WaitsTheMaxDelay()
    {
        var clock = new WaitCountingClock();
        await using var server = LoopbackHttpServer.Scripted(Throttled("3600"), ServerReply.Ok());
        using var client = TestClients.Batch(server.BaseUri, o => o.RetryMaxDelay = TimeSpan.FromSeconds(7), new AwsClientSeams { TimeProvider = clock, Random = () => 0.0 });

        var call = client.DescribeJobsAsync(AnyRequest);
        await Eventually.WaitAsync(() => clock.DueTimes.Contains(TimeSpan.FromSeconds(7)) || clock.DueTimes.Contains(TimeSpan.FromHours(1)) || call.IsCompleted, "a wait of the max delay");
        clock.Advance(TimeSpan.FromSeconds(7));

        await call.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, server.RequestCount);
        Assert.DoesNotContain(TimeSpan.FromHours(1), clock.DueTimes);
    }

    private static ServerReply Throttled(string retryAfter) => ServerReply.Json(
        429, """{"message":"slow down"}""", ("x-amzn-ErrorType", "TooManyRequestsException:"), ("Retry-After", retryAfter));
}

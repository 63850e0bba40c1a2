using System.Threading.RateLimiting;
using Batchkeeper.BatchEmulator;
using Batchkeeper.Daemon.Aws;
using Batchkeeper.Daemon.Aws.Batch.Model;
using Batchkeeper.Daemon.Tests.Aws.Fakes;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Aws;

/// <summary>One token bucket per service, taken by every attempt of every operation.</summary>
public sealed class AwsRateLimiterTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(20)]
    [InlineData(100)]
    [InlineData(250)]
    [InlineData(1000)]
    public void Bucket_HoldsTheConfiguredRate_WithABurstOfOneSecond(int requestsPerSecond)
    {
        var options = AwsResiliencePolicy.CreateRateLimiterOptions(requestsPerSecond);

        Assert.Equal(requestsPerSecond, options.TokenLimit);
        var rate = options.TokensPerPeriod / options.ReplenishmentPeriod.TotalSeconds;
        Assert.InRange(rate, requestsPerSecond * 0.9999, requestsPerSecond * 1.0001);
        Assert.InRange(options.ReplenishmentPeriod, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(1));
        Assert.True(options.AutoReplenishment);
        Assert.Equal(QueueProcessingOrder.OldestFirst, options.QueueProcessingOrder);
    }

    [Fact]
    public void DefaultRate_IsTwentyPerSecond()
    {
        using var policy = new AwsResiliencePolicy("batch", new AwsOptions());

        var bucket = Assert.IsType<TokenBucketRateLimiter>(policy.Limiter);
        Assert.Equal(20, bucket.GetStatistics()!.CurrentAvailablePermits);
    }

    [Fact]
    public async Task ABurst_PassesOnlyAsManyRequestsAsThereArePermits_AcrossOperations()
    {
        // Hand-replenished bucket of 3: the counts below do not depend on timing.
        using var bucket = ManualBucket(tokenLimit: 3);
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Ok());
        using var client = TestClients.Batch(server.BaseUri, seams: new AwsClientSeams { Limiter = bucket });

        var calls = Enumerable.Range(0, 10)
            .Select(i => i % 2 == 0
                ? (Task)client.DescribeJobsAsync(new DescribeJobsRequest { Jobs = ["j"] })
                : client.ListJobsAsync(new ListJobsRequest { JobQueue = "q" }))
            .ToList();

        for (var admitted = 3; admitted <= 9; admitted += 3)
        {
            await Eventually.WaitAsync(() => server.RequestCount == admitted && Queued(bucket) == 10 - admitted, $"{admitted} admitted, {10 - admitted} queued");
            Assert.Equal(admitted, server.RequestCount);
            await ReplenishAsync(bucket);
        }

        await Eventually.WaitAsync(() => calls.All(c => c.IsCompleted), "all calls");
        Assert.Equal(10, server.RequestCount);
        Assert.All(calls, c => Assert.True(c.IsCompletedSuccessfully));
    }

    [Fact]
    public async Task EveryRetry_TakesAPermitToo()
    {
        using var bucket = ManualBucket(tokenLimit: 1);
        await using var server = LoopbackHttpServer.Scripted(ServerReply.AwsError(500, "ServerException", "boom"), ServerReply.Ok());
        using var client = TestClients.Batch(server.BaseUri, seams: new AwsClientSeams { Limiter = bucket });

        var call = client.DescribeJobsAsync(new DescribeJobsRequest { Jobs = ["j"] });

        await Eventually.WaitAsync(() => server.RequestCount == 1 && Queued(bucket) == 1, "the retry waiting for a permit");
        Assert.False(call.IsCompleted);
        await ReplenishAsync(bucket);
        await call.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, server.RequestCount);
    }

    [Fact]
    public async Task Cancellation_WhileWaitingForAPermit_StopsTheCall()
    {
        using var bucket = ManualBucket(tokenLimit: 1);
        Assert.True(bucket.AttemptAcquire().IsAcquired);
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Ok());
        using var client = TestClients.Batch(server.BaseUri, seams: new AwsClientSeams { Limiter = bucket });
        using var cancellation = new CancellationTokenSource();

        var call = client.DescribeJobsAsync(new DescribeJobsRequest { Jobs = ["j"] }, cancellation.Token);
        await Eventually.WaitAsync(() => Queued(bucket) == 1, "the call waiting for a permit");
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, server.RequestCount);
    }

    [Fact]
    public async Task ConfiguredRate_HoldsOverABurstOfThreeSecondsWorth()
    {
        // The production bucket at 40 requests/s and 120 requests at once: 40 go at once, the other 80 need
        // two more seconds. Both checks only get safer on a slow machine.
        const int rate = 40;
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Ok());
        using var client = TestClients.Batch(server.BaseUri, o => o.MaxRequestsPerSecond = rate);

        var started = DateTimeOffset.UtcNow;
        await Task.WhenAll(Enumerable.Range(0, 3 * rate).Select(_ => client.DescribeJobsAsync(new DescribeJobsRequest { Jobs = ["j"] })));

        var arrivals = server.Requests.Select(r => r.ReceivedAt - started).Order().ToList();
        Assert.Equal(3 * rate, arrivals.Count);
        var period = AwsResiliencePolicy.CreateRateLimiterOptions(rate).ReplenishmentPeriod;
        Assert.True(arrivals[^1] >= TimeSpan.FromSeconds(2) - (2 * period), $"the last request arrived after only {arrivals[^1]}");
        var inFirstSecond = arrivals.Count(a => a < TimeSpan.FromSeconds(1));
        Assert.True(inFirstSecond <= (2 * rate) + 1, $"{inFirstSecond} requests in the first second");
    }

    [Fact]
    public async Task AgainstTheEmulator_NoSecondOfArrivalsHoldsMoreThanTheBurstAndWhatRefills()
    {
        // The registered client at 10 requests/s and 40 ListJobs at once, counted where they arrive. The bucket's clock
        // is the system's (System.Threading.RateLimiting takes no TimeProvider), so the bounds are the generous ones
        // that only get safer on a slow machine: at most a full bucket plus one second's refill in any second, and
        // three seconds at least for the 30 beyond the first burst.
        const int rate = 10;
        await using var emulator = await Emulator.StartAsync();
        using var client = TestClients.Batch(emulator.BaseAddress, o => o.MaxRequestsPerSecond = rate);

        await Task.WhenAll(Enumerable.Range(0, 4 * rate).Select(_ => client.ListJobsAsync(new ListJobsRequest { JobQueue = "q" })));

        var arrivals = emulator.RequestsFor(BatchOperations.ListJobs).Select(r => r.ReceivedAt).Order().ToList();
        Assert.Equal(4 * rate, arrivals.Count);
        var busiest = arrivals.Max(start => arrivals.Count(a => a >= start && a < start + TimeSpan.FromSeconds(1)));
        Assert.True(busiest <= (2 * rate) + 1, $"{busiest} requests arrived within one second");
        var period = AwsResiliencePolicy.CreateRateLimiterOptions(rate).ReplenishmentPeriod;
        Assert.True(arrivals[^1] - arrivals[0] >= TimeSpan.FromSeconds(3) - (2 * period), $"all arrived within {arrivals[^1] - arrivals[0]}");
    }

    private static TokenBucketRateLimiter ManualBucket(int tokenLimit) => new(new TokenBucketRateLimiterOptions
    {
        TokenLimit = tokenLimit,
        TokensPerPeriod = tokenLimit,
        ReplenishmentPeriod = TimeSpan.FromMilliseconds(1),
        AutoReplenishment = false,
        QueueLimit = int.MaxValue,
    });

    private static long Queued(RateLimiter limiter) => limiter.GetStatistics()!.CurrentQueuedCount;

    // The bucket refills only once a period (1 ms) has passed since the last refill: try until a waiter moves.
    private static Task ReplenishAsync(TokenBucketRateLimiter bucket)
    {
        var queued = Queued(bucket);
        return Eventually.WaitAsync(() => bucket.TryReplenish() && Queued(bucket) < queued, "a refill");
    }
}

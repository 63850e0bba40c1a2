using Amazon.S3.Model;
using Batchkeeper.Daemon.Aws;
using Batchkeeper.Daemon.Tests.Infrastructure;
using OutputLocation = Batchkeeper.Core.Planning.OutputLocation;

namespace Batchkeeper.Daemon.Tests.Aws;

/// <summary>The S3 output store against s3rver: exact keys, batched listings, and the cache of known outputs.</summary>
public sealed class S3OutputStoreTests
{
    private static OutputLocation S3(string uri) => OutputLocation.Parse(uri, "/", out _)!;

    private static async Task PutAsync(Amazon.S3.IAmazonS3 client, string bucket, IEnumerable<string> keys)
    {
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (key, ct) =>
            await client.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, ContentBody = "x", UseChunkEncoding = false }, ct));
    }

    [Fact]
    public async Task ManyOutputs_AreCheckedWithAFewListPages_ExactlyByKey()
    {
        await using var s3rver = await S3rver.StartAsync("results");
        using var client = s3rver.CreateClient();
        // 2,500 outputs of which every fifth is missing, neighbours that only share a prefix, and other files.
        var present = Enumerable.Range(0, 2500).Where(i => i % 5 != 0).Select(i => $"lab/demo/wf/s{i:D5}.json.gz").ToArray();
        await PutAsync(client, "results", present);
        await PutAsync(client, "results", ["lab/demo/wf/s00000.json.gz.partial", "lab/demo/wf/s00005.json", "lab/other/file"]);

        var store = new S3OutputStore(client, TimeProvider.System);
        var wanted = Enumerable.Range(0, 2500).Select(i => S3($"s3://results/lab/demo/wf/s{i:D5}.json.gz")).ToArray();
        var found = await store.FindExistingAsync(wanted, CancellationToken.None);

        Assert.Equal(present.Select(k => $"s3://results/{k}").Order(StringComparer.Ordinal), found.Order(StringComparer.Ordinal));
        Assert.Equal(0, store.Heads);
        Assert.InRange(store.ListPages, 2, 3);
    }

    [Fact]
    public async Task OutputsSpreadAmongManyObjects_CostAPagePerStretch_NotAPagePerThousandObjectsBetween()
    {
        await using var s3rver = await S3rver.StartAsync("results");
        using var client = s3rver.CreateClient();
        // A workflow in progress: 4,000 samples done, the outputs still to check are the first, the last and one not yet there.
        await PutAsync(client, "results", Enumerable.Range(0, 4000).Select(i => $"wf/a1/s{i:D5}.out"));
        var store = new S3OutputStore(client, TimeProvider.System);

        var found = await store.FindExistingAsync(new[] { "wf/a1/s00000.out", "wf/a1/s03999.out", "wf/a1/s04000.out" }.Select(k => S3($"s3://results/{k}")).ToArray(), CancellationToken.None);

        Assert.Equal(["s3://results/wf/a1/s00000.out", "s3://results/wf/a1/s03999.out"], found.Order(StringComparer.Ordinal));
        // One page from s00000 (covering s00000..s00999), one from s03999 to the end; paging through would take four.
        Assert.Equal(2, store.ListPages);
    }

    [Fact]
    public async Task AnOutputAskedAboutTwiceInOneCall_IsListedOnce_AndFound()
    {
        await using var s3rver = await S3rver.StartAsync("results");
        using var client = s3rver.CreateClient();
        await PutAsync(client, "results", ["wf/s1.out", "wf/s2.out", "wf/s3.out"]);
        var store = new S3OutputStore(client, TimeProvider.System);
        var asked = new[] { "wf/s1.out", "wf/s2.out", "wf/s2.out", "wf/s4.out" }.Select(k => S3($"s3://results/{k}")).ToArray();

        var found = await store.FindExistingAsync(asked, CancellationToken.None);

        Assert.Equal(["s3://results/wf/s1.out", "s3://results/wf/s2.out"], found.Order(StringComparer.Ordinal));
        Assert.Equal((1, 0), (store.ListPages, store.Heads));
    }

    [Fact]
    public async Task EveryS3Request_TakesAPermitOfTheS3RateLimiter()
    {
        await using var s3rver = await S3rver.StartAsync("results");
        using var seeding = s3rver.CreateClient();
        await PutAsync(seeding, "results", ["r/1", "r/2", "r/3"]);
        var options = new AwsOptions { Region = "us-east-1", S3ServiceUrl = s3rver.ServiceUrl, S3ForcePathStyle = true };
        using var limiter = new System.Threading.RateLimiting.TokenBucketRateLimiter(AwsResiliencePolicy.CreateRateLimiterOptions(2));
        using var client = AwsBackendRegistration.CreateS3Client(options, new Amazon.Runtime.BasicAWSCredentials(S3rver.AccessKey, S3rver.SecretKey), limiter);
        var store = new S3OutputStore(client, TimeProvider.System) { HeadThreshold = 10 };

        var started = DateTime.UtcNow;
        var found = await store.FindExistingAsync(new[] { "r/1", "r/2", "r/3", "r/4", "r/5", "r/6" }.Select(k => S3($"s3://results/{k}")).ToArray(), CancellationToken.None);

        Assert.Equal(3, found.Count);
        Assert.Equal(6, store.Heads);
        Assert.Equal(6, limiter.GetStatistics()!.TotalSuccessfulLeases);
        // Two a second after a burst of two: the last of six cannot leave before two seconds have passed.
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(1.9), $"six requests at two a second took {DateTime.UtcNow - started}");
    }

    [Fact]
    public async Task KnownOutputs_AreNotAskedAboutAgain_MissingOnesAre()
    {
        await using var s3rver = await S3rver.StartAsync("results");
        using var client = s3rver.CreateClient();
        await PutAsync(client, "results", ["a/1.txt", "a/2.txt", "a/3.txt"]);
        var store = new S3OutputStore(client, TimeProvider.System);
        var wanted = new[] { "a/1.txt", "a/2.txt", "a/3.txt", "a/4.txt" }.Select(k => S3($"s3://results/{k}")).ToArray();

        Assert.Equal(3, (await store.FindExistingAsync(wanted, CancellationToken.None)).Count);
        var pages = store.ListPages;
        Assert.Equal(1, pages);

        // Only the missing output is asked about again: one HeadObject, no listing.
        await PutAsync(client, "results", ["a/4.txt"]);
        Assert.Equal(4, (await store.FindExistingAsync(wanted, CancellationToken.None)).Count);
        Assert.Equal(pages, store.ListPages);
        Assert.Equal(1, store.Heads);

        Assert.Equal(4, (await store.FindExistingAsync(wanted, CancellationToken.None)).Count);
        Assert.Equal(1, store.Heads);
        Assert.Equal(pages, store.ListPages);
    }

    [Fact]
    public async Task KnownOutputs_AreAskedAboutAgainAfterTheTtl_AndThoseNoLongerAskedAboutAreForgotten()
    {
        await using var s3rver = await S3rver.StartAsync("results");
        using var client = s3rver.CreateClient();
        await PutAsync(client, "results", ["a/1.txt", "a/2.txt", "a/3.txt"]);
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new S3OutputStore(client, clock) { KnownTtl = TimeSpan.FromMinutes(10), HeadThreshold = 10 };
        var all = new[] { "a/1.txt", "a/2.txt", "a/3.txt" }.Select(k => S3($"s3://results/{k}")).ToArray();

        Assert.Equal(3, (await store.FindExistingAsync(all, CancellationToken.None)).Count);
        Assert.Equal(3, store.KnownCount);
        Assert.Equal(3, store.Heads);

        // Within the TTL nothing is asked; past it, the one output still wanted is asked again, and the other two
        // (a workflow that is gone) are no longer remembered.
        clock.Advance(TimeSpan.FromMinutes(9));
        Assert.Single(await store.FindExistingAsync(all[..1], CancellationToken.None));
        Assert.Equal(3, store.Heads);
        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Single(await store.FindExistingAsync(all[..1], CancellationToken.None));
        Assert.Equal(4, store.Heads);
        Assert.Equal(1, store.KnownCount);
    }

    [Fact]
    public async Task MissingBucket_IsAnErrorNotAnEmptyAnswer()
    {
        await using var s3rver = await S3rver.StartAsync("results");
        using var client = s3rver.CreateClient();
        var store = new S3OutputStore(client, TimeProvider.System);
        var wanted = new[] { "x/1", "x/2", "x/3" }.Select(k => S3($"s3://no-such-bucket/{k}")).ToArray();
        var error = await Assert.ThrowsAsync<OutputStoreUnavailableException>(() => store.FindExistingAsync(wanted, CancellationToken.None));
        Assert.IsAssignableFrom<Amazon.S3.AmazonS3Exception>(error.InnerException);
        Assert.Contains("S3 could not be asked whether outputs exist (3 outputs in s3://no-such-bucket)", error.Message, StringComparison.Ordinal);
        Assert.Contains("bucket does not exist", error.Message, StringComparison.OrdinalIgnoreCase);
    }
}

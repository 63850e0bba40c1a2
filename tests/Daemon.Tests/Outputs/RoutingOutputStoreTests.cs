using Amazon.S3.Model;
using Batchkeeper.Daemon.Aws;
using Batchkeeper.Daemon.Outputs;
using Batchkeeper.Daemon.Tests.Infrastructure;
using OutputLocation = Batchkeeper.Core.Planning.OutputLocation;

namespace Batchkeeper.Daemon.Tests.Outputs;

/// <summary>Outputs sent to the store of their scheme: files on disk, <c>s3://</c> to S3 (s3rver), and both in one call.</summary>
public sealed class RoutingOutputStoreTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("bk-routing-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private OutputLocation Output(string uri) => OutputLocation.Parse(uri, _folder, out _)!;

    [Fact]
    public async Task FilesAndObjectsInOneCall_AreEachAskedOfTheirStore_AndFoundTogether()
    {
        await using var s3rver = await S3rver.StartAsync("results");
        using var client = s3rver.CreateClient();
        await client.PutObjectAsync(new PutObjectRequest { BucketName = "results", Key = "wf/s1.out", ContentBody = "x", UseChunkEncoding = false });
        await File.WriteAllTextAsync(Path.Combine(_folder, "s1.local"), "x");
        var store = new RoutingOutputStore(new LocalOutputStore(), new S3OutputStore(client, TimeProvider.System));

        var found = await store.FindExistingAsync(
            [Output("s3://results/wf/s1.out"), Output("s3://results/wf/s2.out"), Output("s1.local"), Output("s2.local")], CancellationToken.None);

        Assert.Equal([Output("s1.local").Uri, "s3://results/wf/s1.out"], found.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task OnlyObjects_AreAnsweredByS3Alone()
    {
        await using var s3rver = await S3rver.StartAsync("results");
        using var client = s3rver.CreateClient();
        await client.PutObjectAsync(new PutObjectRequest { BucketName = "results", Key = "wf/s1.out", ContentBody = "x", UseChunkEncoding = false });
        var store = new RoutingOutputStore(new LocalOutputStore(), new S3OutputStore(client, TimeProvider.System));

        var found = await store.FindExistingAsync([Output("s3://results/wf/s1.out"), Output("s3://results/wf/s2.out")], CancellationToken.None);

        Assert.Equal(["s3://results/wf/s1.out"], found);
    }

    [Fact]
    public async Task OnlyFiles_NeedNoS3Store()
    {
        await File.WriteAllTextAsync(Path.Combine(_folder, "s1.local"), "x");
        var store = new RoutingOutputStore(new LocalOutputStore());

        var found = await store.FindExistingAsync([Output("s1.local"), Output("s2.local")], CancellationToken.None);

        Assert.Equal([Output("s1.local").Uri], found);
    }

    [Fact]
    public async Task ObjectsWithoutAnS3Store_AreRefused_NamingTheFirstAndWhatToSet()
    {
        var store = new RoutingOutputStore(new LocalOutputStore());

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            store.FindExistingAsync([Output("s1.local"), Output("s3://results/wf/s1.out")], CancellationToken.None));

        Assert.Equal(
            "outputs such as s3://results/wf/s1.out are on S3, but no S3 store is configured: set Batchkeeper:Backend to Aws (or use file outputs)",
            error.Message);
    }
}

using Batchkeeper.Core.Planning;

namespace Batchkeeper.Core.Tests.Planning;

public sealed class OutputLocationTests
{
    private const string Base = "/projects/demo";

    [Theory]
    [InlineData("s3://bucket/key.json", "bucket", "key.json")]
    [InlineData("s3://bucket/lab/demo/s1.json.gz", "bucket", "lab/demo/s1.json.gz")]
    [InlineData("S3://bucket/a b/c", "bucket", "a b/c")]
    public void Parse_S3Uri_GivesBucketAndKey(string text, string bucket, string key)
    {
        var location = OutputLocation.Parse(text, Base, out var error);

        Assert.Null(error);
        Assert.NotNull(location);
        Assert.True(location.IsS3);
        Assert.Equal(bucket, location.Bucket);
        Assert.Equal(key, location.Key);
        Assert.Equal($"s3://{bucket}/{key}", location.Uri);
    }

    [Theory]
    [InlineData("file:///data/out/s1.txt", "/data/out/s1.txt")]
    [InlineData("file:///data/out/a%20b.txt", "/data/out/a b.txt")]
    [InlineData("file:///data/out/../x/./s1.txt", "/data/x/s1.txt")]
    [InlineData("results/s1.count", "/projects/demo/results/s1.count")]
    [InlineData("./results/s1.count", "/projects/demo/results/s1.count")]
    [InlineData("results/../other/s1.count", "/projects/demo/other/s1.count")]
    [InlineData("../shared/s1.count", "/projects/shared/s1.count")]
    [InlineData("/abs/dir//s1.count", "/abs/dir/s1.count")]
    public void Parse_LocalPath_GivesANormalisedAbsoluteFileUri(string text, string path)
    {
        var location = OutputLocation.Parse(text, Base, out var error);

        Assert.Null(error);
        Assert.NotNull(location);
        Assert.False(location.IsS3);
        Assert.Null(location.Bucket);
        Assert.Equal(path, location.Key);
        Assert.Equal("file://" + path, location.Uri);
    }

    [Fact]
    public void Parse_SameFileWrittenTwoWays_GivesTheSameUri()
    {
        var relative = OutputLocation.Parse("results/s1.count", Base, out _);
        var uri = OutputLocation.Parse("file:///projects/demo/results/s1.count", Base, out _);
        var absolute = OutputLocation.Parse("/projects/demo/results/../results/s1.count", Base, out _);

        Assert.Equal(relative, uri);
        Assert.Equal(relative, absolute);
    }

    [Theory]
    [InlineData("s3://bucket", "'s3://bucket' is not an S3 object URI; expected s3://bucket/key")]
    [InlineData("s3://bucket/", "'s3://bucket/' is not an S3 object URI; expected s3://bucket/key")]
    [InlineData("s3:///key", "'s3:///key' is not an S3 object URI; expected s3://bucket/key")]
    [InlineData("s3://bucket/dir/", "'s3://bucket/dir/' names a folder; an output must be one object (its exact key must exist)")]
    [InlineData("results/", "'results/' names a folder; an output must be one file")]
    [InlineData("file:///data/out/", "'file:///data/out/' names a folder; an output must be one file")]
    [InlineData("http://host/x", "'http://host/x' has an unsupported scheme; expected s3://, file:// or a plain path")]
    [InlineData("gs://bucket/x", "'gs://bucket/x' has an unsupported scheme; expected s3://, file:// or a plain path")]
    [InlineData("file://relative/x", "'file://relative/x' is not an absolute file URI; write file:///absolute/path, or a plain path relative to the project folder")]
    [InlineData("", "is empty; expected s3://bucket/key, file:///path or a path")]
    public void Parse_NotOneObjectOrFile_SaysWhy(string text, string expected)
    {
        var location = OutputLocation.Parse(text, Base, out var error);

        Assert.Null(location);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void Parse_OutputsOfOneBucket_ShareOneBucketString_AndKeepTheirCanonicalUri()
    {
        var first = OutputLocation.Parse("S3://results/lab/s1.bam", "/p", out _)!;
        var second = OutputLocation.Parse("s3://results/lab/s2.bam", "/p", out _)!;

        Assert.Same(first.Bucket, second.Bucket);
        Assert.Equal("s3://results/lab/s1.bam", first.Uri);
        Assert.Equal("lab/s2.bam", second.Key);
    }
}

using Amazon.Runtime;
using Amazon.S3.Model;
using Amazon.SQS.Model;
using Batchkeeper.Daemon.Aws;
using Batchkeeper.Daemon.Tests.Aws.Fakes;

namespace Batchkeeper.Daemon.Tests.Aws;

/// <summary>
/// The SDK clients (S3, SQS) keep their connections: the SDK asks the daemon's HTTP client factory for a client on every
/// request, and a handler of its own each time was a new TCP connection (against AWS a TLS handshake) per request.
/// </summary>
public sealed class AwsConnectionReuseTests
{
    private const int Requests = 20;

    private static readonly string ListingPage =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" +
        "<Name>results</Name><Prefix>lab/</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>" +
        "<Contents><Key>lab/a.bam</Key><LastModified>2026-12-01T00:00:00.000Z</LastModified><ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag>" +
        "<Size>0</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>";

    private static AwsOptions Options(Uri server) => new()
    {
        Region = "us-east-1",
        S3ServiceUrl = server.ToString().TrimEnd('/'),
        SqsServiceUrl = server.ToString().TrimEnd('/'),
        S3ForcePathStyle = true,
        MaxAttempts = 1,
        AttemptTimeout = TimeSpan.FromSeconds(10),
    };

    [Fact]
    public async Task S3Client_ListsTwentyPagesOneAfterAnother_OverOneConnection()
    {
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Json(200, ListingPage));
        using var s3 = AwsBackendRegistration.CreateS3Client(Options(server.BaseUri), new BasicAWSCredentials(TestClients.AccessKey, TestClients.SecretKey));

        for (var i = 0; i < Requests; i++)
        {
            var page = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "results", Prefix = "lab/" });
            Assert.Equal("lab/a.bam", Assert.Single(page.S3Objects).Key);
        }

        Assert.Equal(Requests, server.RequestCount);
        Assert.Equal(1, server.ConnectionCount);
    }

    [Fact]
    public async Task SqsClient_AsksTwentyTimesOneAfterAnother_OverOneConnection()
    {
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Json(200, "{\"Attributes\":{\"ApproximateNumberOfMessages\":\"0\"}}"));
        using var sqs = AwsBackendRegistration.CreateSqsClient(Options(server.BaseUri), new BasicAWSCredentials(TestClients.AccessKey, TestClients.SecretKey));

        for (var i = 0; i < Requests; i++)
        {
            var answer = await sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = $"{server.BaseUri}000000000000/events", AttributeNames = ["ApproximateNumberOfMessages"] });
            Assert.Equal("0", answer.Attributes["ApproximateNumberOfMessages"]);
        }

        Assert.Equal(Requests, server.RequestCount);
        Assert.Equal(1, server.ConnectionCount);
    }
}

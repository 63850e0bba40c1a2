using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using Batchkeeper.Daemon.Aws.Batch;
using Batchkeeper.Daemon.Aws.Batch.Model;
using Batchkeeper.Daemon.Tests.Aws.Fakes;

namespace Batchkeeper.Daemon.Tests.Aws.Batch;

/// <summary>
/// The client sends what the official JavaScript client sends (shared/aws/batch-wire-examples.jsonl): same
/// method, path, content type and JSON body, signed with SigV4 for service <c>batch</c>.
/// </summary>
public sealed class BatchWireConformanceTests
{
    /// <summary>The inputs behind each captured line, written with this client's types, in file order.</summary>
    private static readonly Func<IBatchClient, Task>[] CapturedCalls =
    [
        c => c.SubmitJobAsync(new SubmitJobRequest
        {
            JobName = "myjob-001",
            JobQueue = "my-queue",
            JobDefinition = "my-jobdef:3",
            DependsOn = [new JobDependency { JobId = "abc", Type = ArrayJobDependency.Sequential }],
            Parameters = new Dictionary<string, string> { ["inputKey"] = "s3://bucket/in.csv" },
            ContainerOverrides = new ContainerOverrides
            {
                Command = ["run", "--x", "1"],
                Environment = [new EnvironmentVariable { Name = "FOO", Value = "bar" }],
                ResourceRequirements =
                [
                    new ResourceRequirement { Type = ResourceType.Vcpu, Value = "2" },
                    new ResourceRequirement { Type = ResourceType.Memory, Value = "4096" },
                ],
            },
            RetryStrategy = new RetryStrategy { Attempts = 2 },
            PropagateTags = true,
            Timeout = new JobTimeout { AttemptDurationSeconds = 3600 },
            Tags = new Dictionary<string, string> { ["project"] = "x" },
        }),
        c => c.DescribeJobsAsync(new DescribeJobsRequest { Jobs = ["j1", "j2"] }),
        c => c.ListJobsAsync(new ListJobsRequest { JobQueue = "my-queue", JobStatus = JobStatus.Running, MaxResults = 50, NextToken = "tok1" }),
        c => c.ListJobsAsync(new ListJobsRequest { JobQueue = "my-queue", Filters = [KeyValuesPair.JobName("myjob-*")] }),
        c => c.TerminateJobAsync(new TerminateJobRequest { JobId = "j1", Reason = "cancelled by daemon" }),
        c => c.SubmitJobAsync(new SubmitJobRequest { JobName = "bad", JobQueue = "q", JobDefinition = "d" }),
    ];

    public static TheoryData<int> CapturedLines()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < CapturedCalls.Length; i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Fact]
    public void EveryCapturedLineHasACallInThisTest()
    {
        Assert.Equal(CapturedCalls.Length, ReadCapturedLines().Count);
    }

    [Theory]
    [MemberData(nameof(CapturedLines))]
    public async Task Request_MatchesTheOfficialClient(int line)
    {
        var expected = ReadCapturedLines()[line];
        var sent = await SendAsync(CapturedCalls[line]);

        Assert.Equal(expected.GetProperty("method").GetString(), sent.Method);
        Assert.Equal(expected.GetProperty("url").GetString(), sent.Target);
        Assert.Equal(expected.GetProperty("headers").GetProperty("content-type").GetString(), sent.Header("Content-Type"));
        Assert.Equal(1, sent.HeaderCount("Content-Type"));
        AssertSameJson(expected.GetProperty("body").GetString()!, sent.BodyText);
        AssertSignedForBatch(sent);
    }

    public static TheoryData<string, string> OtherOperations() => new()
    {
        { "CancelJob", """{"jobId":"j9","reason":"not needed"}""" },
        { "DescribeJobQueues", """{"jobQueues":["spot-test"]}""" },
        { "DescribeJobDefinitions", """{"jobDefinitions":["famli:14"],"status":"ACTIVE"}""" },
    };

    /// <summary>The operations missing from the capture: path from the service model, body written from the model by hand.</summary>
    [Theory]
    [MemberData(nameof(OtherOperations))]
    public async Task OtherOperations_PostToTheModelsRequestUri(string operation, string expectedBody)
    {
        Func<IBatchClient, Task> call = operation switch
        {
            "CancelJob" => c => c.CancelJobAsync(new CancelJobRequest { JobId = "j9", Reason = "not needed" }),
            "DescribeJobQueues" => c => c.DescribeJobQueuesAsync(new DescribeJobQueuesRequest { JobQueues = ["spot-test"] }),
            _ => c => c.DescribeJobDefinitionsAsync(new DescribeJobDefinitionsRequest { JobDefinitions = ["famli:14"], Status = "ACTIVE" }),
        };

        var sent = await SendAsync(call);

        using var model = JsonDocument.Parse(File.ReadAllText(Path.Combine(SharedFolder.Aws, "batch-2016-08-10.service-2.json")));
        var http = model.RootElement.GetProperty("operations").GetProperty(operation).GetProperty("http");
        Assert.Equal(http.GetProperty("method").GetString(), sent.Method);
        Assert.Equal(http.GetProperty("requestUri").GetString(), sent.Target);
        Assert.Equal("application/json", sent.Header("Content-Type"));
        AssertSameJson(expectedBody, sent.BodyText);
        AssertSignedForBatch(sent);
    }

    [Fact]
    public async Task EmptyRequest_SendsAnEmptyObject()
    {
        var sent = await SendAsync(c => c.DescribeJobQueuesAsync(new DescribeJobQueuesRequest()));

        Assert.Equal("{}", sent.BodyText);
    }

    [Fact]
    public async Task SessionCredentials_SignTheSecurityToken()
    {
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Ok());
        using var client = TestClients.Batch(server.BaseUri, seams: new AwsClientSeams
        {
            Credentials = new SessionAWSCredentials("ASIAEXAMPLE", "session-secret", "the-token"),
        });

        await client.DescribeJobsAsync(new DescribeJobsRequest { Jobs = ["j1"] });

        var sent = Assert.Single(server.Requests);
        Assert.Equal("the-token", sent.Header("x-amz-security-token"));
        Assert.Contains("x-amz-security-token", SigV4Verifier.ParseAuthorization(sent.Header("Authorization"))!.SignedHeaders);
        Assert.Null(SigV4Verifier.Verify(sent, "session-secret"));
    }

    [Fact]
    public void Verifier_ReproducesAwsPublishedTestVectors()
    {
        const string secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        var emptyHash = SigV4Verifier.Hex(System.Security.Cryptography.SHA256.HashData([]));
        (string, string)[] headers = [("host", "example.amazonaws.com"), ("x-amz-date", "20150830T123600Z")];

        // get-vanilla and post-vanilla from the AWS SigV4 test suite.
        Assert.Equal(
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            SigV4Verifier.Signature(secret, "GET", "/", "", headers, emptyHash, "20150830T123600Z", "us-east-1", "service"));
        Assert.Equal(
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
            SigV4Verifier.Signature(secret, "POST", "/", "", headers, emptyHash, "20150830T123600Z", "us-east-1", "service"));
    }

    [Fact]
    public async Task Verifier_RejectsARequestSignedWithAnotherSecret()
    {
        var sent = await SendAsync(c => c.DescribeJobsAsync(new DescribeJobsRequest { Jobs = ["j1"] }));

        Assert.NotNull(SigV4Verifier.Verify(sent, "not-the-secret"));
        Assert.NotNull(SigV4Verifier.Verify(sent with { Body = [.. sent.Body, (byte)' '] }, TestClients.SecretKey));
    }

    internal static void AssertSignedForBatch(CapturedRequest sent)
    {
        var header = sent.Header("Authorization");
        Assert.Equal(1, sent.HeaderCount("Authorization"));
        var amzDate = sent.Header("x-amz-date");
        Assert.NotNull(amzDate);
        var date = amzDate[..8];
        Assert.StartsWith($"AWS4-HMAC-SHA256 Credential={TestClients.AccessKey}/{date}/us-east-1/batch/aws4_request, SignedHeaders=", header);
        // The signature is dated now (UTC), give or take a day boundary crossed during the test.
        var signedOn = DateTime.ParseExact(date, "yyyyMMdd", CultureInfo.InvariantCulture);
        Assert.InRange((DateTime.UtcNow.Date - signedOn).TotalDays, 0, 1);

        var authorization = SigV4Verifier.ParseAuthorization(header);
        Assert.NotNull(authorization);
        Assert.Contains("host", authorization.SignedHeaders);
        Assert.Contains("x-amz-date", authorization.SignedHeaders);
        Assert.Contains("content-type", authorization.SignedHeaders);
        Assert.Null(SigV4Verifier.Verify(sent, TestClients.SecretKey));
    }

    internal static void AssertSameJson(string expected, string actual)
    {
        Assert.Equal(Canonical(JsonNode.Parse(expected)), Canonical(JsonNode.Parse(actual)));
    }

    private static async Task<CapturedRequest> SendAsync(Func<IBatchClient, Task> call)
    {
        // Answer with something every response type accepts, so the call itself succeeds.
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Ok("""{"jobName":"n","jobId":"id"}"""));
        using var client = TestClients.Batch(server.BaseUri);

        await call(client);

        return Assert.Single(server.Requests);
    }

    private static List<JsonElement> ReadCapturedLines() =>
        [.. File.ReadLines(Path.Combine(SharedFolder.Aws, "batch-wire-examples.jsonl"))
            .Where(line => !string.IsNullOrWhiteSpace(line))
            .Select(line => JsonDocument.Parse(line).RootElement)];

    // Objects with their properties sorted, so property order does not matter and everything else does.
    private static string Canonical(JsonNode? node) => node switch
    {
        JsonObject o => "{" + string.Join(",", o.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => JsonSerializer.Serialize(p.Key) + ":" + Canonical(p.Value))) + "}",
        JsonArray a => "[" + string.Join(",", a.Select(Canonical)) + "]",
        null => "null",
        _ => node.ToJsonString(),
    };
}

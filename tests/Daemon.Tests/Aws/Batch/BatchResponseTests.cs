using System.Net;
using Batchkeeper.Daemon.Aws.Batch;
using Batchkeeper.Daemon.Aws.Batch.Model;
using Batchkeeper.Daemon.Tests.Aws.Fakes;

namespace Batchkeeper.Daemon.Tests.Aws.Batch;

/// <summary>Responses and errors as Batch sends them become the client's records and exceptions.</summary>
public sealed class BatchResponseTests
{
    // Shaped like a real DescribeJobs answer: one job not started yet (no startedAt), one that failed after
    // two attempts, plus members the client does not model (they must be ignored).
    private const string DescribeJobsBody = """
        {
          "jobs": [
            {
              "jobArn": "arn:aws:batch:us-east-1:123456789012:job/j-runnable",
              "jobName": "bk-famli-famli-s1-0a1b2c3d",
              "jobId": "j-runnable",
              "jobQueue": "arn:aws:batch:us-east-1:123456789012:job-queue/spot-test",
              "status": "RUNNABLE",
              "attempts": [],
              "createdAt": 1763805360123,
              "dependsOn": [],
              "jobDefinition": "arn:aws:batch:us-east-1:123456789012:job-definition/famli:14",
              "parameters": { "sample_name": "s1" },
              "container": { "image": "famli:0.9", "command": ["famli", "align"], "environment": [], "resourceRequirements": [ { "value": "16", "type": "VCPU" } ] },
              "tags": {},
              "platformCapabilities": [],
              "eksAttempts": [],
              "isCancelled": false,
              "isTerminated": false
            },
            {
              "jobName": "bk-famli-famli-s2-0a1b2c3d",
              "jobId": "j-failed",
              "jobQueue": "spot-test",
              "status": "FAILED",
              "statusReason": "Essential container in task exited",
              "createdAt": 1763805000000,
              "startedAt": 1763805060500,
              "stoppedAt": 1763808660999,
              "jobDefinition": "famli:14",
              "attempts": [
                {
                  "container": { "exitCode": 1, "reason": "", "logStreamName": "famli/default/first", "taskArn": "arn:task/1", "networkInterfaces": [] },
                  "startedAt": 1763805060500,
                  "stoppedAt": 1763805100000,
                  "statusReason": "Essential container in task exited"
                },
                {
                  "container": { "exitCode": 137, "reason": "OutOfMemoryError: Container killed due to memory usage", "logStreamName": "famli/default/second" },
                  "startedAt": 1763805200000,
                  "stoppedAt": 1763808660999,
                  "statusReason": "Essential container in task exited"
                }
              ],
              "container": {
                "exitCode": 137,
                "reason": "OutOfMemoryError: Container killed due to memory usage",
                "logStreamName": "famli/default/second",
                "resourceRequirements": [ { "value": "16", "type": "VCPU" }, { "value": "122000", "type": "MEMORY" } ],
                "logConfiguration": { "logDriver": "awslogs", "options": { "awslogs-group": "/aws/batch/job" }, "secretOptions": [] }
              },
              "timeout": { "attemptDurationSeconds": 86400 },
              "retryStrategy": { "attempts": 2, "evaluateOnExit": [] },
              "tags": { "project": "demo" },
              "propagateTags": true,
              "someFutureMember": { "nested": [1, 2, 3] }
            }
          ]
        }
        """;

    [Fact]
    public async Task DescribeJobs_ParsesJobsWithAndWithoutStartedAt()
    {
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Ok(DescribeJobsBody));
        using var client = TestClients.Batch(server.BaseUri);

        var response = await client.DescribeJobsAsync(new DescribeJobsRequest { Jobs = ["j-runnable", "j-failed"] });

        Assert.Equal(2, response.Jobs.Count);
        var runnable = response.Jobs[0];
        Assert.Equal("j-runnable", runnable.JobId);
        Assert.Equal(JobStatus.Runnable, runnable.Status);
        Assert.Null(runnable.StartedAt);
        Assert.Null(runnable.StoppedAt);
        Assert.Equal(new DateTimeOffset(2025, 11, 22, 9, 56, 0, 123, TimeSpan.Zero), runnable.CreatedAt);
        Assert.Empty(runnable.Attempts);
        Assert.Equal("s1", runnable.Parameters["sample_name"]);
        Assert.Null(runnable.Container!.ExitCode);
        Assert.Equal(ResourceType.Vcpu, Assert.Single(runnable.Container.ResourceRequirements).Type);
        Assert.False(runnable.IsCancelled);

        var failed = response.Jobs[1];
        Assert.Equal(JobStatus.Failed, failed.Status);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1763805060500), failed.StartedAt);
        Assert.Equal(new DateTimeOffset(2025, 11, 22, 10, 51, 0, 999, TimeSpan.Zero), failed.StoppedAt);
        Assert.Equal(137, failed.Container!.ExitCode);
        Assert.Equal("OutOfMemoryError: Container killed due to memory usage", failed.Container.Reason);
        Assert.Equal("famli/default/second", failed.Container.LogStreamName);
        Assert.Equal("122000", failed.Container.ResourceRequirements.Single(r => r.Type == ResourceType.Memory).Value);
        Assert.Equal("/aws/batch/job", failed.Container.LogConfiguration!.Options["awslogs-group"]);
        Assert.Equal(2, failed.Attempts.Count);
        Assert.Equal(1, failed.Attempts[0].Container!.ExitCode);
        Assert.Equal("famli/default/first", failed.Attempts[0].Container!.LogStreamName);
        Assert.Equal(137, failed.Attempts[1].Container!.ExitCode);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1763805200000), failed.Attempts[1].StartedAt);
        Assert.Equal(86400, failed.Timeout!.AttemptDurationSeconds);
        Assert.Equal(2, failed.RetryStrategy!.Attempts);
        Assert.Equal("demo", failed.Tags["project"]);
        Assert.True(failed.PropagateTags);
        // Lists the service left out come back empty, never null.
        Assert.Empty(failed.DependsOn);
        Assert.Empty(failed.PlatformCapabilities);
    }

    [Fact]
    public async Task DescribeJobs_JobWithoutItsIdIsRejectedWithAClearError()
    {
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Ok("""{"jobs":[{"jobName":"n","jobQueue":"q","status":"RUNNING","jobDefinition":"d"}]}"""));
        using var client = TestClients.Batch(server.BaseUri);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => client.DescribeJobsAsync(new DescribeJobsRequest { Jobs = ["x"] }));

        Assert.Contains("DescribeJobsResponse", error.Message, StringComparison.Ordinal);
        Assert.Contains("jobId", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EmptyBody_IsAnEmptyResponse()
    {
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Ok(""));
        using var client = TestClients.Batch(server.BaseUri);

        var response = await client.DescribeJobsAsync(new DescribeJobsRequest { Jobs = ["x"] });

        Assert.Empty(response.Jobs);
    }

    [Fact]
    public async Task ListAllJobs_WalksEveryPageWithTheSameFilters()
    {
        await using var server = LoopbackHttpServer.Scripted(
            ServerReply.Ok("""{"jobSummaryList":[{"jobId":"a","jobName":"bk-1","status":"RUNNING","createdAt":1000}],"nextToken":"p2"}"""),
            ServerReply.Ok("""{"jobSummaryList":[],"nextToken":"p3"}"""),
            ServerReply.Ok("""{"jobSummaryList":[{"jobId":"b","jobName":"bk-2","container":{"exitCode":0}},{"jobId":"c","jobName":"bk-3"}]}"""));
        using var client = TestClients.Batch(server.BaseUri);

        var jobs = new List<JobSummary>();
        await foreach (var job in client.ListAllJobsAsync(new ListJobsRequest { JobQueue = "q", Filters = [KeyValuesPair.JobName("bk-*")] }))
        {
            jobs.Add(job);
        }

        Assert.Equal(["a", "b", "c"], jobs.Select(j => j.JobId));
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1000), jobs[0].CreatedAt);
        Assert.Equal(0, jobs[1].Container!.ExitCode);
        var bodies = server.Requests.Select(r => r.BodyText).ToList();
        Assert.Equal(3, bodies.Count);
        BatchWireConformanceTests.AssertSameJson("""{"jobQueue":"q","filters":[{"name":"JOB_NAME","values":["bk-*"]}]}""", bodies[0]);
        BatchWireConformanceTests.AssertSameJson("""{"jobQueue":"q","filters":[{"name":"JOB_NAME","values":["bk-*"]}],"nextToken":"p2"}""", bodies[1]);
        BatchWireConformanceTests.AssertSameJson("""{"jobQueue":"q","filters":[{"name":"JOB_NAME","values":["bk-*"]}],"nextToken":"p3"}""", bodies[2]);
    }

    [Fact]
    public async Task ListAllJobs_StopsWhenTheServiceRepeatsAToken()
    {
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Ok("""{"jobSummaryList":[],"nextToken":"same"}"""));
        using var client = TestClients.Batch(server.BaseUri);

        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var _ in client.ListAllJobsAsync(new ListJobsRequest { JobQueue = "q" }))
            {
            }
        });
        Assert.Equal(2, server.RequestCount);
    }

    [Fact]
    public async Task ClientException_CarriesCodeStatusMessageAndRequestId_AndIsNotRetried()
    {
        await using var server = LoopbackHttpServer.Scripted(
            ServerReply.AwsError(400, "ClientException", "Job queue spot-tset does not exist.", requestId: "0f3c-req"),
            ServerReply.Ok("""{"jobName":"n","jobId":"id"}"""));
        using var client = TestClients.Batch(server.BaseUri);

        var error = await Assert.ThrowsAsync<BatchServiceException>(() =>
            client.SubmitJobAsync(new SubmitJobRequest { JobName = "n", JobQueue = "spot-tset", JobDefinition = "d" }));

        Assert.Equal("ClientException", error.ErrorCode);
        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.Equal("Job queue spot-tset does not exist.", error.ServiceMessage);
        Assert.Equal("0f3c-req", error.RequestId);
        Assert.True(error.IsClientError);
        Assert.False(error.IsThrottling);
        Assert.Contains("Job queue spot-tset does not exist.", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.RequestCount);
    }

    [Theory]
    [InlineData("""{"Message":"capitalised"}""", "x-amzn-ErrorType", "AccessDeniedException:http://internal/", "AccessDeniedException", "capitalised")]
    [InlineData("""{"__type":"com.amazonaws.batch#ClientException","message":"from the body"}""", null, null, "ClientException", "from the body")]
    [InlineData("<html>Forbidden by proxy</html>", null, null, "Http403", "<html>Forbidden by proxy</html>")]
    public async Task ErrorCodeAndMessage_AreFoundWhereverTheServiceOrAProxyPutsThem(
        string body, string? header, string? headerValue, string expectedCode, string expectedMessage)
    {
        var headers = header is null ? [] : new[] { (header, headerValue!) };
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Json(403, body, headers));
        using var client = TestClients.Batch(server.BaseUri);

        var error = await Assert.ThrowsAsync<BatchServiceException>(() => client.DescribeJobsAsync(new DescribeJobsRequest { Jobs = ["x"] }));

        Assert.Equal(expectedCode, error.ErrorCode);
        Assert.Equal(expectedMessage, error.ServiceMessage);
        Assert.Equal(HttpStatusCode.Forbidden, error.StatusCode);
        Assert.Null(error.RequestId);
        Assert.Equal(1, server.RequestCount);
    }
}

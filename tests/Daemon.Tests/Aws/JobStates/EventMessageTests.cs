using System.Text;
using Batchkeeper.Daemon.Aws.JobStates;
using FsCheck;
using FsCheck.Xunit;

namespace Batchkeeper.Daemon.Tests.Aws.JobStates;

/// <summary>Reading the events queue's messages: EventBridge's envelope, other events, and anything else, never throwing.</summary>
public sealed class EventMessageTests
{
    /// <summary>The envelope of shared/aws/batch-events.md, with members EventBridge may add later.</summary>
    internal const string JobStateChange = """
        { "version": "0", "id": "c8f9c4b5-0000-0000-0000-000000000001", "detail-type": "Batch Job State Change", "source": "aws.batch",
          "account": "123456789012", "time": "2022-01-11T23:36:40Z", "region": "us-east-1", "new-envelope-member": {"x": 1},
          "resources": ["arn:aws:batch:us-east-1:123456789012:job/4c7599ae"],
          "detail": { "jobArn": "arn:aws:batch:us-east-1:123456789012:job/4c7599ae", "jobName": "bk-famli-align-s1-0a1b", "jobId": "4c7599ae",
            "jobQueue": "arn:aws:batch:us-east-1:123456789012:job-queue/spot", "status": "RUNNABLE", "statusReason": "waiting",
            "attempts": [ { "container": { "exitCode": 137, "reason": "OutOfMemoryError: Container killed", "logStreamName": "famli/default/1" },
              "startedAt": 1641944200000, "stoppedAt": 1641944400000, "statusReason": "Essential container in task exited" } ],
            "createdAt": 1641944100000, "retryStrategy": { "attempts": 2 }, "dependsOn": [], "jobDefinition": "arn:aws:batch:us-east-1:123456789012:job-definition/famli:14",
            "parameters": {}, "container": { "image": "famli", "resourceRequirements": [ { "type": "MEMORY", "value": "122000" } ], "someNewField": true },
            "tags": {}, "propagateTags": false, "platformCapabilities": [], "aNewDetailMember": [1, 2] } }
        """;

    [Fact]
    public void AJobStateChange_IsReadAsTheJob_IgnoringMembersItDoesNotKnow()
    {
        var parsed = Assert.IsType<EventMessage.JobStateChange>(EventMessage.Parse(JobStateChange));

        Assert.Equal("c8f9c4b5-0000-0000-0000-000000000001", parsed.EventId);
        Assert.Equal("4c7599ae", parsed.Job.JobId);
        Assert.Equal("RUNNABLE", parsed.Job.Status);
        Assert.Equal("arn:aws:batch:us-east-1:123456789012:job-queue/spot", parsed.Job.JobQueue);
        Assert.Single(parsed.Job.Attempts);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1641944100000), parsed.Job.CreatedAt);
        Assert.Null(parsed.Job.Container!.ExitCode); // absent: the container of this attempt never ran yet
    }

    [Fact]
    public void AnotherDetailType_IsNotAJobStateChange()
    {
        var blocked = JobStateChange.Replace("Batch Job State Change", "Batch Job Queue Blocked", StringComparison.Ordinal);
        var other = Assert.IsType<EventMessage.Other>(EventMessage.Parse(blocked));
        Assert.Equal("Batch Job Queue Blocked", other.DetailType);
        Assert.IsType<EventMessage.Other>(EventMessage.Parse(JobStateChange.Replace("\"aws.batch\"", "\"aws.ecs\"", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("secret-marker not json")]
    [InlineData("[\"secret-marker\"]")]
    [InlineData("{\"detail-type\": \"Batch Job State Change\", \"source\": \"aws.batch\", \"detail\": \"secret-marker\"}")]
    [InlineData("{\"detail-type\": \"Batch Job State Change\", \"source\": \"aws.batch\", \"detail\": {\"jobId\": \"secret-marker\"}}")]
    [InlineData("{\"detail-type\": \"Batch Job State Change\", \"source\": \"aws.batch\", \"detail\": {\"jobId\": 1, \"status\": \"secret-marker\"}}")]
    [InlineData("{\"id\": 7}")]
    public void AnythingElse_IsBad_WithAReasonThatNeverQuotesTheBody(string body)
    {
        var bad = Assert.IsType<EventMessage.Bad>(EventMessage.Parse(body));
        Assert.DoesNotContain("secret-marker", bad.Reason, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(bad.Reason));
    }

    [Property(MaxTest = 500)]
    public void RandomBytes_AreBadOrAnEvent_NeverAnException(byte[] bytes) =>
        Assert.NotNull(EventMessage.Parse(Encoding.UTF8.GetString(bytes)));

    [Property(MaxTest = 500)]
    public void RandomMutationsOfAnEvent_AreBadOrAnEvent_NeverAnException(int seed, PositiveInt mutations)
    {
        var random = new Random(seed);
        var text = new StringBuilder(JobStateChange);
        const string significant = "{}[]\",:0-.eE\\ n";
        for (var i = 0; i < Math.Min(mutations.Get, 30); i++)
        {
            var at = random.Next(text.Length);
            switch (random.Next(3))
            {
                case 0: text.Remove(at, 1); break;
                case 1: text.Insert(at, significant[random.Next(significant.Length)]); break;
                default: text[at] = significant[random.Next(significant.Length)]; break;
            }
        }

        Assert.NotNull(EventMessage.Parse(text.ToString()));
    }
}

using System.Diagnostics;
using Amazon.Runtime;
using Amazon.SQS.Model;
using Batchkeeper.Daemon.Aws;
using Batchkeeper.Daemon.Tests.Aws.Fakes;

namespace Batchkeeper.Daemon.Tests.Aws.JobStates;

/// <summary>The events queue's SQS client against a queue that accepts requests and never answers.</summary>
public sealed class SqsClientTests
{
    [Fact]
    public async Task ADeleteToAHungQueue_IsGivenUpAtTheAttemptTimeout_AndOnlyAReceiveWaitsLongerForItsLongPoll()
    {
        await using var hung = new LoopbackHttpServer((_, _) => ServerReply.Stall);
        using var sqs = AwsBackendRegistration.CreateSqsClient(
            new AwsOptions { Region = "us-east-1", SqsServiceUrl = hung.BaseUri.ToString(), AttemptTimeout = TimeSpan.FromSeconds(1), MaxAttempts = 1 },
            new BasicAWSCredentials("a", "b"));
        var queue = new Uri(hung.BaseUri, "123456789012/events").ToString();

        var delete = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<Exception>(() => sqs.DeleteMessageBatchAsync(new DeleteMessageBatchRequest
        {
            QueueUrl = queue, Entries = [new DeleteMessageBatchRequestEntry { Id = "1", ReceiptHandle = "r" }],
        }));
        Assert.True(delete.Elapsed < TimeSpan.FromSeconds(10), $"the delete took {delete.Elapsed.TotalSeconds:0.0} s (the long poll's 20 s allowance)");

        // A receive is allowed its 20 s wait on top: still waiting after three times the attempt timeout, it is the caller that stops it.
        var receive = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = queue, WaitTimeSeconds = 20 }, stop.Token));
        Assert.True(stop.IsCancellationRequested && receive.Elapsed >= TimeSpan.FromSeconds(2.9), $"the receive ended after {receive.Elapsed.TotalSeconds:0.0} s");
    }
}

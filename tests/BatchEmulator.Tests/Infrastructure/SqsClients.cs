using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;

namespace Batchkeeper.BatchEmulator.Tests.Infrastructure;

/// <summary>AWSSDK.SQS, the client the daemon uses, pointed at an emulator: no retries, so that every fault shows.</summary>
internal static class SqsClients
{
    public static AmazonSQSClient For(BatchEmulator emulator) =>
        new(new BasicAWSCredentials("x", "y"), new AmazonSQSConfig
        {
            ServiceURL = emulator.BaseAddress.ToString(),
            AuthenticationRegion = "us-east-1",
            MaxErrorRetry = 0,
        });

    /// <summary>Receives (long polls of 1 s, 10 at a time, every attribute) until <paramref name="count"/> messages came; fails at the deadline.</summary>
    public static async Task<List<Message>> ReceiveAsync(this IAmazonSQS sqs, string queueUrl, int count, TimeSpan? timeout = null, int visibilitySeconds = 60)
    {
        var received = new List<Message>();
        await Eventually.WaitAsync(
            async () =>
            {
                var page = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest
                {
                    QueueUrl = queueUrl,
                    MaxNumberOfMessages = 10,
                    WaitTimeSeconds = 1,
                    VisibilityTimeout = visibilitySeconds,
                    MessageSystemAttributeNames = ["All"],
                });
                received.AddRange(page.Messages ?? []);
                return (int?)received.Count;
            },
            n => n >= count,
            $"{count} messages from {queueUrl}",
            timeout ?? TimeSpan.FromSeconds(30));
        return received;
    }
}

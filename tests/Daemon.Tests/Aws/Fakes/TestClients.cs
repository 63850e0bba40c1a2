using Amazon.Runtime;
using Batchkeeper.Daemon.Aws;
using Batchkeeper.Daemon.Aws.Batch;
using Batchkeeper.Daemon.Aws.Batch.Model;

namespace Batchkeeper.Daemon.Tests.Aws.Fakes;

internal static class TestClients
{
    public const string AccessKey = "AKIDEXAMPLE";
    public const string SecretKey = "secret";

    public static AwsOptions FastOptions(Uri serviceUrl, Action<AwsOptions>? change = null)
    {
        var options = new AwsOptions
        {
            Region = "us-east-1",
            BatchServiceUrl = serviceUrl.ToString(),
            MaxAttempts = 4,
            AttemptTimeout = TimeSpan.FromSeconds(10),
            RetryBaseDelay = TimeSpan.FromMilliseconds(1),
            RetryMaxDelay = TimeSpan.FromMilliseconds(5),
            MaxRequestsPerSecond = 1000,
        };
        change?.Invoke(options);
        return options;
    }

    /// <summary>The production pipeline (rate limit, retries, SigV4) against <paramref name="serviceUrl"/>, with static test keys.</summary>
    public static BatchClient Batch(Uri serviceUrl, Action<AwsOptions>? change = null, AwsClientSeams? seams = null)
    {
        seams ??= new AwsClientSeams();
        if (seams.Credentials is null)
        {
            seams = seams with { Credentials = new BasicAWSCredentials(AccessKey, SecretKey) };
        }

        return BatchClient.Create(FastOptions(serviceUrl, change), seams);
    }
}

/// <summary>Credentials that count how often the signer asks for keys and can change them between asks.</summary>
internal sealed class CountingCredentials(Func<int, ImmutableCredentials> keys) : AWSCredentials
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public override ImmutableCredentials GetCredentials() => keys(Interlocked.Increment(ref _calls));

    public override Task<ImmutableCredentials> GetCredentialsAsync() => Task.FromResult(GetCredentials());
}

/// <summary>The system clock, recording the due time of every timer created (backoff delays, attempt timeouts).</summary>
internal sealed class RecordingTimeProvider : TimeProvider
{
    private readonly List<TimeSpan> _dueTimes = [];

    public IReadOnlyList<TimeSpan> DueTimes
    {
        get
        {
            lock (_dueTimes)
            {
                return [.. _dueTimes];
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        lock (_dueTimes)
        {
            _dueTimes.Add(dueTime);
        }

        return System.CreateTimer(callback, state, dueTime, period);
    }
}

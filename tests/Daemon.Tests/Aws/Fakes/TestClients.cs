using System.Threading.RateLimiting;
using Amazon.Runtime;
using Batchkeeper.Daemon.Aws;
using Batchkeeper.Daemon.Aws.Batch;
using Batchkeeper.Daemon.Aws.Batch.Model;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Tests.Aws.Fakes;

/// <summary>Replaceable parts of the AWS clients' registration, for tests. Anything left null gets its production default.</summary>
internal sealed record AwsClientSeams
{
    /// <summary>Default (in <see cref="TestClients.Batch"/>): the static test keys.</summary>
    public AWSCredentials? Credentials { get; init; }

    /// <summary>The clock of the pipeline (backoff delays, attempt timeouts). Default: the system clock.</summary>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>The service's token bucket. Default: one of <see cref="AwsOptions.MaxRequestsPerSecond"/>.</summary>
    public RateLimiter? Limiter { get; init; }

    /// <summary>The backoff's random draw in [0, 1). Default: <see cref="Random.Shared"/>.</summary>
    public Func<double>? Random { get; init; }
}

internal static class TestClients
{
    public const string AccessKey = "AKIDEXAMPLE";
    public const string SecretKey = "secret";

    /// <summary>Short delays, a generous rate and attempts enough to see retries, against <paramref name="serviceUrl"/>.</summary>
    public static void Fast(AwsOptions options, Uri serviceUrl)
    {
        options.Region = "us-east-1";
        options.BatchServiceUrl = serviceUrl.ToString();
        options.LogsServiceUrl = serviceUrl.ToString();
        options.MaxAttempts = 4;
        options.AttemptTimeout = TimeSpan.FromSeconds(10);
        options.RetryBaseDelay = TimeSpan.FromMilliseconds(1);
        options.RetryMaxDelay = TimeSpan.FromMilliseconds(5);
        options.MaxRequestsPerSecond = 1000;
    }

    /// <summary>
    /// The production registration (<see cref="AwsServiceCollectionExtensions.AddAwsClients"/>: rate limit, retries, SigV4)
    /// against <paramref name="serviceUrl"/>, with static test keys unless <paramref name="seams"/> gives other credentials.
    /// </summary>
    public static TestBatchClient Batch(Uri serviceUrl, Action<AwsOptions>? change = null, AwsClientSeams? seams = null)
    {
        seams ??= new AwsClientSeams();
        return new TestBatchClient(Services(serviceUrl, change, seams with { Credentials = seams.Credentials ?? new BasicAWSCredentials(AccessKey, SecretKey) }));
    }

    /// <summary>The same registration with credentials from the SDK's default chain (nothing registered).</summary>
    public static TestBatchClient BatchWithTheDefaultChain(Uri serviceUrl) => new(Services(serviceUrl, null, new AwsClientSeams()));

    /// <summary>The service provider of the AWS clients; the caller disposes it.</summary>
    public static ServiceProvider Services(Uri serviceUrl, Action<AwsOptions>? change, AwsClientSeams seams)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddAwsClients(o =>
        {
            Fast(o, serviceUrl);
            change?.Invoke(o);
        });
        if (seams.Credentials is { } credentials)
        {
            services.AddSingleton(credentials);
        }

        if (seams.TimeProvider is { } clock)
        {
            services.AddSingleton(clock);
        }

        if (seams.Limiter is not null || seams.Random is not null)
        {
            foreach (var name in new[] { BatchClient.ServiceName, CloudWatchLogsClient.ServiceName })
            {
                // Registered after the production policy: the last registration is the one resolved.
                services.AddKeyedSingleton(name, (provider, _) =>
                    new AwsResiliencePolicy(name, provider.GetRequiredService<IOptions<AwsOptions>>().Value, seams.Limiter, seams.Random));
            }
        }

        return services.BuildServiceProvider();
    }
}

/// <summary>The registered <see cref="BatchClient"/>, disposing its service provider (limiter, handlers) with it.</summary>
internal sealed class TestBatchClient(ServiceProvider services) : IBatchClient, IDisposable
{
    public BatchClient Client { get; } = services.GetRequiredService<BatchClient>();

    public IServiceProvider Services => services;

    public string Region => Client.Region;

    public Uri ServiceUrl => Client.ServiceUrl;

    public Task<SubmitJobResponse> SubmitJobAsync(SubmitJobRequest request, CancellationToken cancellationToken = default) => Client.SubmitJobAsync(request, cancellationToken);

    public Task<DescribeJobsResponse> DescribeJobsAsync(DescribeJobsRequest request, CancellationToken cancellationToken = default) => Client.DescribeJobsAsync(request, cancellationToken);

    public Task<ListJobsResponse> ListJobsAsync(ListJobsRequest request, CancellationToken cancellationToken = default) => Client.ListJobsAsync(request, cancellationToken);

    public IAsyncEnumerable<JobSummary> ListAllJobsAsync(ListJobsRequest request, CancellationToken cancellationToken = default) => Client.ListAllJobsAsync(request, cancellationToken);

    public Task<TerminateJobResponse> TerminateJobAsync(TerminateJobRequest request, CancellationToken cancellationToken = default) => Client.TerminateJobAsync(request, cancellationToken);

    public Task<CancelJobResponse> CancelJobAsync(CancelJobRequest request, CancellationToken cancellationToken = default) => Client.CancelJobAsync(request, cancellationToken);

    public Task<DescribeJobQueuesResponse> DescribeJobQueuesAsync(DescribeJobQueuesRequest request, CancellationToken cancellationToken = default) => Client.DescribeJobQueuesAsync(request, cancellationToken);

    public Task<DescribeJobDefinitionsResponse> DescribeJobDefinitionsAsync(DescribeJobDefinitionsRequest request, CancellationToken cancellationToken = default) => Client.DescribeJobDefinitionsAsync(request, cancellationToken);

    public void Dispose() => services.Dispose();
}

/// <summary>Credentials that count how often the signer asks for keys and can change them between asks.</summary>
internal sealed class CountingCredentials(Func<int, ImmutableCredentials> keys) : AWSCredentials
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public override ImmutableCredentials GetCredentials() => keys(Interlocked.Increment(ref _calls));

    public override Task<ImmutableCredentials> GetCredentialsAsync() => Task.FromResult(GetCredentials());
}

/// <summary>
/// The system clock, recording the due time of every timer set (backoff delays, attempt timeouts): when created, or
/// when changed later (a CancellationTokenSource's CancelAfter creates its timer unset, then sets it).
/// </summary>
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
        Record(dueTime);
        return new RecordingTimer(System.CreateTimer(callback, state, dueTime, period), this);
    }

    private void Record(TimeSpan dueTime)
    {
        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            lock (_dueTimes)
            {
                _dueTimes.Add(dueTime);
            }
        }
    }

    private sealed class RecordingTimer(ITimer timer, RecordingTimeProvider owner) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            owner.Record(dueTime);
            return timer.Change(dueTime, period);
        }

        public void Dispose() => timer.Dispose();

        public ValueTask DisposeAsync() => timer.DisposeAsync();
    }
}

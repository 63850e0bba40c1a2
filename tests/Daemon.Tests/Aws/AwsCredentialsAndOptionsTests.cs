using Amazon.Runtime;
using Batchkeeper.Daemon.Aws;
using Batchkeeper.Daemon.Aws.Batch;
using Batchkeeper.Daemon.Aws.Batch.Model;
using Batchkeeper.Daemon.Tests.Aws.Fakes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Tests.Aws;

public sealed class AwsCredentialsAndOptionsTests
{
    [Fact]
    public async Task LazyCredentials_ResolveOnFirstUseOnly_AndRetryAFailedLookup()
    {
        var lookups = 0;
        using var credentials = new LazyAwsCredentials(() =>
        {
            lookups++;
            return lookups == 1
                ? Task.FromException<AWSCredentials>(new AmazonClientException("Failed to resolve AWS credentials."))
                : Task.FromResult<AWSCredentials>(new BasicAWSCredentials("AKIDLAZY", "s"));
        });
        Assert.Equal(0, lookups);

        await Assert.ThrowsAsync<AmazonClientException>(credentials.GetCredentialsAsync);
        Assert.Equal("AKIDLAZY", (await credentials.GetCredentialsAsync()).AccessKey);
        Assert.Equal("AKIDLAZY", credentials.GetCredentials().AccessKey);

        Assert.Equal(2, lookups);
    }

    [Fact]
    public async Task LazyCredentials_AskTheSourceForKeysOnEverySignature_SoRefreshedKeysAreUsed()
    {
        // A source whose keys change between asks, as an SSO or assume-role source does when they expire.
        var source = new CountingCredentials(n => new ImmutableCredentials($"AKIDROUND{n}", "s", null));
        using var lazy = new LazyAwsCredentials(() => Task.FromResult<AWSCredentials>(source));
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Ok());
        using var client = TestClients.Batch(server.BaseUri, seams: new AwsClientSeams { Credentials = lazy });

        await client.DescribeJobsAsync(new DescribeJobsRequest { Jobs = ["j"] });
        await client.DescribeJobsAsync(new DescribeJobsRequest { Jobs = ["j"] });

        var keys = server.Requests.Select(r => SigV4Verifier.ParseAuthorization(r.Header("Authorization"))!.AccessKey);
        Assert.Equal(["AKIDROUND1", "AKIDROUND2"], keys);
    }

    [Fact]
    public async Task LazyCredentials_ConcurrentFirstCalls_LookUpOnce()
    {
        var lookups = 0;
        var release = new TaskCompletionSource<AWSCredentials>();
        using var credentials = new LazyAwsCredentials(() =>
        {
            Interlocked.Increment(ref lookups);
            return release.Task;
        });

        var calls = Enumerable.Range(0, 8).Select(_ => credentials.GetCredentialsAsync()).ToList();
        release.SetResult(new BasicAWSCredentials("AKIDONCE", "s"));
        await Task.WhenAll(calls);

        Assert.Equal(1, lookups);
    }

    [Fact]
    public void Defaults_AreTheDocumentedOnes()
    {
        var options = new AwsOptions();

        Assert.Null(options.Region);
        Assert.Null(options.BatchServiceUrl);
        Assert.Null(options.S3ServiceUrl);
        Assert.False(options.S3ForcePathStyle);
        Assert.Equal(20, options.MaxRequestsPerSecond);
        Assert.Equal(5, options.MaxAttempts);
        Assert.Equal(TimeSpan.FromSeconds(30), options.AttemptTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.RetryBaseDelay);
        Assert.Equal(TimeSpan.FromSeconds(20), options.RetryMaxDelay);
    }

    [Fact]
    public void AddAwsClients_BindsTheBatchkeeperAwsSection()
    {
        using var provider = Services(new Dictionary<string, string?>
        {
            ["Batchkeeper:Aws:Region"] = "eu-central-1",
            ["Batchkeeper:Aws:BatchServiceUrl"] = "http://127.0.0.1:4567",
            ["Batchkeeper:Aws:S3ServiceUrl"] = "http://127.0.0.1:4568",
            ["Batchkeeper:Aws:S3ForcePathStyle"] = "true",
            ["Batchkeeper:Aws:MaxRequestsPerSecond"] = "7",
            ["Batchkeeper:Aws:MaxAttempts"] = "2",
            ["Batchkeeper:Aws:AttemptTimeout"] = "00:00:03",
        });

        var options = provider.GetRequiredService<IOptions<AwsOptions>>().Value;
        var client = Assert.IsType<BatchClient>(provider.GetRequiredService<IBatchClient>());

        Assert.Equal("eu-central-1", options.Region);
        Assert.Equal("http://127.0.0.1:4568", options.S3ServiceUrl);
        Assert.True(options.S3ForcePathStyle);
        Assert.Equal(7, options.MaxRequestsPerSecond);
        Assert.Equal(2, options.MaxAttempts);
        Assert.Equal(TimeSpan.FromSeconds(3), options.AttemptTimeout);
        Assert.Equal(new Uri("http://127.0.0.1:4567/"), client.ServiceUrl);
        Assert.Equal("eu-central-1", client.Region);
        Assert.Same(client, provider.GetRequiredService<IBatchClient>());
    }

    [Fact]
    public void AddAwsClients_ConfigureDelegate_OverridesTheConfiguration()
    {
        using var provider = Services(
            new Dictionary<string, string?> { ["Batchkeeper:Aws:Region"] = "eu-central-1" },
            o => o.Region = "us-west-2");

        var client = (BatchClient)provider.GetRequiredService<IBatchClient>();

        Assert.Equal("us-west-2", client.Region);
        Assert.Equal(new Uri("https://batch.us-west-2.amazonaws.com/"), client.ServiceUrl);
    }

    [Fact]
    public async Task AddAwsClients_CalledTwice_SendsThroughOnePipeline()
    {
        // Two pipelines stacked would make each of the three attempts three of its own: nine requests.
        await using var server = LoopbackHttpServer.Scripted(ServerReply.AwsError(503, "ServerException", "unavailable"));
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddSingleton<AWSCredentials>(new BasicAWSCredentials(TestClients.AccessKey, TestClients.SecretKey));
        services.AddAwsClients(o => TestClients.Fast(o, server.BaseUri));
        services.AddAwsClients(o => o.MaxAttempts = 3);
        await using var provider = services.BuildServiceProvider();

        await Assert.ThrowsAsync<BatchServiceException>(() => provider.GetRequiredService<IBatchClient>().DescribeJobsAsync(new DescribeJobsRequest { Jobs = ["j"] }));

        Assert.Equal(3, server.RequestCount);
    }

    [Theory]
    [InlineData("us-east-1", "https://batch.us-east-1.amazonaws.com/")]
    [InlineData("cn-north-1", "https://batch.cn-north-1.amazonaws.com.cn/")]
    [InlineData("us-gov-west-1", "https://batch.us-gov-west-1.amazonaws.com/")]
    public void Endpoint_IsTheRegionalBatchEndpoint_UnlessAServiceUrlIsGiven(string region, string endpoint)
    {
        using var provider = Services(new Dictionary<string, string?> { ["Batchkeeper:Aws:Region"] = region });

        Assert.Equal(new Uri(endpoint), provider.GetRequiredService<BatchClient>().ServiceUrl);
    }

    [Theory]
    [InlineData("http://127.0.0.1:4567", "http://127.0.0.1:4567/")]
    [InlineData("http://127.0.0.1:4567/emulator", "http://127.0.0.1:4567/emulator/")]
    [InlineData(" https://batch.internal.example/ ", "https://batch.internal.example/")]
    public void ServiceUrl_ReplacesTheAwsEndpoint(string serviceUrl, string endpoint)
    {
        using var provider = Services(new Dictionary<string, string?> { ["Batchkeeper:Aws:Region"] = "eu-west-1", ["Batchkeeper:Aws:BatchServiceUrl"] = serviceUrl });
        var client = provider.GetRequiredService<BatchClient>();

        Assert.Equal(new Uri(endpoint), client.ServiceUrl);
        Assert.Equal("eu-west-1", client.Region);
    }

    [Fact]
    public void InvalidOptions_AreAllReportedAtStartUp()
    {
        using var provider = Services(new Dictionary<string, string?>
        {
            ["Batchkeeper:Aws:Region"] = "Frankfurt",
            ["Batchkeeper:Aws:BatchServiceUrl"] = "127.0.0.1:4567",
            ["Batchkeeper:Aws:S3ServiceUrl"] = "ftp://files",
            ["Batchkeeper:Aws:MaxRequestsPerSecond"] = "0",
            ["Batchkeeper:Aws:MaxAttempts"] = "0",
            ["Batchkeeper:Aws:AttemptTimeout"] = "00:00:00",
            ["Batchkeeper:Aws:RetryBaseDelay"] = "00:00:02",
            ["Batchkeeper:Aws:RetryMaxDelay"] = "00:00:01",
        });

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Equal(7, error.Failures.Count());
        foreach (var name in new[] { "Region", "BatchServiceUrl", "S3ServiceUrl", "MaxRequestsPerSecond", "MaxAttempts", "AttemptTimeout", "RetryMaxDelay" })
        {
            Assert.Contains(error.Failures, f => f.Contains($"Batchkeeper:Aws:{name}", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("EventsQueueUrl", "sqs/123/queue")]
    [InlineData("SqsServiceUrl", "ftp://sqs")]
    [InlineData("EventsResyncInterval", "00:00:00.500")]
    [InlineData("EventsResyncInterval", "2.00:00:00")]
    public void InvalidEventsOptions_AreReportedAtStartUp_NamingTheSetting(string setting, string value)
    {
        using var provider = Services(new Dictionary<string, string?> { [$"Batchkeeper:Aws:{setting}"] = value });

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains($"Batchkeeper:Aws:{setting}", Assert.Single(error.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public void ValidOptions_PassStartUpValidation_WithoutCreatingTheClient()
    {
        // No region anywhere is fine until something asks for the Batch client (the local backend never does).
        using var provider = Services(new Dictionary<string, string?>());

        provider.GetRequiredService<IStartupValidator>().Validate();
    }

    private static ServiceProvider Services(Dictionary<string, string?> settings, Action<AwsOptions>? configure = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddAwsClients(configure);
        return services.BuildServiceProvider();
    }
}

using Amazon.Runtime;
using Batchkeeper.Daemon.Aws;
using Batchkeeper.Daemon.Aws.Batch.Model;
using Batchkeeper.Daemon.Tests.Aws.Fakes;

namespace Batchkeeper.Daemon.Tests.Aws;

/// <summary>Region and credential lookup from the process environment and the AWS config files.</summary>
[Collection(ProcessEnvironment.Name)]
public sealed class AwsEnvironmentTests : IDisposable
{
    private const string Resolver = "Batchkeeper.Daemon.Aws.AwsRegionResolver";

    private readonly TempDirectory _temp = new();
    private readonly EnvironmentScope _environment;

    public AwsEnvironmentTests()
    {
        _environment = new EnvironmentScope().ClearAws(_temp.Path);
        // A profile that would win if the environment were not read first.
        File.WriteAllText(ConfigFile, "[default]\nregion = eu-north-1\n[profile lab]\nregion = ap-southeast-2\n");
        File.WriteAllText(CredentialsFile, "[lab]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n");
    }

    private string ConfigFile => Path.Combine(_temp.Path, "no-config");

    private string CredentialsFile => Path.Combine(_temp.Path, "no-credentials");

    public void Dispose()
    {
        _environment.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public void ExplicitOption_WinsOverEveryOtherSource()
    {
        _environment.Set("AWS_REGION", "eu-west-1").Set("AWS_DEFAULT_REGION", "eu-west-2");

        var region = AwsRegionResolver.Resolve("us-west-2");

        Assert.Equal("us-west-2", region.Endpoint.SystemName);
        Assert.Contains("Batchkeeper:Aws:Region", region.Source, StringComparison.Ordinal);
    }

    [Fact]
    public void AwsRegion_WinsOverAwsDefaultRegion()
    {
        _environment.Set("AWS_REGION", "eu-west-1").Set("AWS_DEFAULT_REGION", "eu-west-2");

        var region = AwsRegionResolver.Resolve(null);

        Assert.Equal("eu-west-1", region.Endpoint.SystemName);
        Assert.Equal("AWS_REGION", region.Source);
    }

    [Fact]
    public void AwsDefaultRegion_IsUsed_ThoughTheSdkFallbackIgnoresIt()
    {
        _environment.Set("AWS_DEFAULT_REGION", "eu-west-2").Set("AWS_REGION", " ");

        var region = AwsRegionResolver.Resolve("  ");

        Assert.Equal("eu-west-2", region.Endpoint.SystemName);
        Assert.Equal("AWS_DEFAULT_REGION", region.Source);
    }

    [Fact]
    public void MalformedRegion_IsAnErrorNamingWhereItCameFrom()
    {
        _environment.Set("AWS_REGION", "us-east1");

        var error = Assert.Throws<AwsConfigurationException>(() => AwsRegionResolver.Resolve(null));

        Assert.Contains("'us-east1'", error.Message, StringComparison.Ordinal);
        Assert.Contains("AWS_REGION", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Profile_IsUsedWhenNoOptionOrVariableIsSet()
    {
        _environment.Set("AWS_PROFILE", "lab");
        using var sdk = new FreshSdkContext();

        var region = sdk.CallDaemon(Resolver, "Resolve", [typeof(string)], [null])!;

        Assert.Equal("ap-southeast-2", FreshSdkContext.Get(FreshSdkContext.Get(region, "Endpoint")!, "SystemName"));
    }

    [Fact]
    public void EnvironmentVariables_WinOverTheProfile()
    {
        _environment.Set("AWS_PROFILE", "lab").Set("AWS_DEFAULT_REGION", "eu-west-2");
        using var sdk = new FreshSdkContext();

        var region = sdk.CallDaemon(Resolver, "Resolve", [typeof(string)], [null])!;

        Assert.Equal("eu-west-2", FreshSdkContext.Get(FreshSdkContext.Get(region, "Endpoint")!, "SystemName"));
    }

    [Fact]
    public void NoRegionAnywhere_IsAClearError()
    {
        File.Delete(ConfigFile);
        using var sdk = new FreshSdkContext();

        var error = Assert.ThrowsAny<Exception>(() => sdk.CallDaemon(Resolver, "Resolve", [typeof(string)], [null]));

        Assert.Equal(typeof(AwsConfigurationException).FullName, error.GetType().FullName);
        Assert.Contains("No AWS region", error.Message, StringComparison.Ordinal);
        Assert.Contains("AWS_REGION", error.Message, StringComparison.Ordinal);
        Assert.Contains("AWS_DEFAULT_REGION", error.Message, StringComparison.Ordinal);
        Assert.Contains("Batchkeeper:Aws:Region", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DefaultChain_ReadsTheProfileNamedByAwsProfile()
    {
        _environment.Set("AWS_PROFILE", "lab");
        using var sdk = new FreshSdkContext();
        var credentials = sdk.CreateDaemon("Batchkeeper.Daemon.Aws.LazyAwsCredentials", [null]);

        var keys = FreshSdkContext.Call(credentials, "GetCredentials")!;

        Assert.Equal("AKIDPROFILE", FreshSdkContext.Get(keys, "AccessKey"));
    }

    [Fact]
    public void DefaultChain_WithNothingSet_FailsClearly_AndLooksAgainOnTheNextCall()
    {
        File.Delete(CredentialsFile);
        using var sdk = new FreshSdkContext();
        var credentials = sdk.CreateDaemon("Batchkeeper.Daemon.Aws.LazyAwsCredentials", [null]);

        var missing = Assert.ThrowsAny<Exception>(() => FreshSdkContext.Call(credentials, "GetCredentials"));
        Assert.Equal(typeof(AmazonClientException).FullName, missing.GetType().FullName);
        Assert.Contains("credentials", missing.Message, StringComparison.OrdinalIgnoreCase);

        _environment.Set("AWS_ACCESS_KEY_ID", "AKIDFROMENV").Set("AWS_SECRET_ACCESS_KEY", "env-secret");
        var keys = FreshSdkContext.Call(credentials, "GetCredentials")!;
        Assert.Equal("AKIDFROMENV", FreshSdkContext.Get(keys, "AccessKey"));
    }

    [Fact]
    public async Task Client_WithoutExplicitCredentials_SignsWithTheDefaultChain()
    {
        // Environment variables come first in the chain, whatever the SDK has cached of the profile files.
        _environment.Set("AWS_ACCESS_KEY_ID", "AKIDFROMENV").Set("AWS_SECRET_ACCESS_KEY", "env-secret");
        await using var server = LoopbackHttpServer.Scripted(ServerReply.Ok());
        using var client = TestClients.BatchWithTheDefaultChain(server.BaseUri);

        await client.DescribeJobsAsync(new DescribeJobsRequest { Jobs = ["j"] });

        var sent = Assert.Single(server.Requests);
        Assert.Equal("AKIDFROMENV", SigV4Verifier.ParseAuthorization(sent.Header("Authorization"))!.AccessKey);
        Assert.Null(SigV4Verifier.Verify(sent, "env-secret"));
    }
}

using Batchkeeper.Daemon.Aws;
using Batchkeeper.Daemon.Aws.Batch;
using Batchkeeper.Daemon.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Batchkeeper.Daemon.Cli;

/// <summary>
/// What every command shares: the writers, the configuration and the validated options (bound and checked by the
/// daemon's own registration; <c>Options</c> is the <c>Batchkeeper</c> section), the projects root, the clock, the
/// follow interval, and the services the daemon registers the same way (the AWS clients). Disposing it disposes them.
/// </summary>
public sealed record CliContext(
    TextWriter Output, TextWriter Error, TextReader Input, IConfiguration Configuration, BatchkeeperOptions Options, TimeProvider Clock,
    IServiceProvider Services) : IDisposable
{
    /// <summary>How often <c>logs --follow</c> and <c>status --watch</c> look again.</summary>
    public TimeSpan FollowInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Whether <see cref="Output"/> is a terminal (not a pipe or a file): <c>status --watch</c> redraws in place only there.</summary>
    public bool OutputIsTerminal { get; init; }

    public string ProjectsRoot => Path.GetFullPath(Options.ProjectsDirectory);

    /// <summary>The <c>Batchkeeper:Aws</c> settings, bound and validated as the daemon's are.</summary>
    /// <exception cref="ConfigurationException">A setting is wrong; every problem is listed.</exception>
    public AwsOptions AwsSettings => BatchkeeperOptionsRegistration.Resolve<AwsOptions>(Services, Configuration);

    /// <summary>
    /// An AWS client (<see cref="IBatchClient"/>, <see cref="CloudWatchLogsClient"/>) as the daemon has it, from the same
    /// registration (<see cref="AwsServiceCollectionExtensions.AddAwsClients"/>): retries, rate limit and signing included.
    /// </summary>
    /// <exception cref="ConfigurationException">An AWS setting is wrong; every problem is listed.</exception>
    /// <exception cref="AwsConfigurationException">No region, or a malformed region or URL.</exception>
    public T Aws<T>()
        where T : notnull
    {
        _ = AwsSettings;
        return Services.GetRequiredService<T>();
    }

    /// <summary>
    /// The context of one command. <c>--projects</c> is the same in-memory <c>Batchkeeper:ProjectsDirectory</c> override
    /// the daemon uses, and the options go through <see cref="BatchkeeperOptionsRegistration.AddBatchkeeperOptions"/>.
    /// </summary>
    /// <exception cref="ConfigurationException">A setting is wrong; every problem is listed.</exception>
    public static CliContext Create(TextWriter output, TextWriter error, TextReader input, IConfiguration configuration, string? projects, TimeProvider clock)
    {
        if (projects is not null)
        {
            configuration = new ConfigurationBuilder()
                .AddConfiguration(configuration)
                .AddInMemoryCollection(new Dictionary<string, string?> { [$"{BatchkeeperOptions.Section}:ProjectsDirectory"] = projects })
                .Build();
        }

        var provider = new ServiceCollection()
            .AddSingleton(configuration)
            .AddSingleton(clock)
            .AddBatchkeeperOptions()
            .AddAwsClients()
            .BuildServiceProvider();
        try
        {
            return new CliContext(output, error, input, configuration, BatchkeeperOptionsRegistration.Resolve(provider, configuration), clock, provider);
        }
        catch
        {
            provider.Dispose();
            throw;
        }
    }

    public void Dispose() => (Services as IDisposable)?.Dispose();

    public int Fail(int code, string message)
    {
        Error.WriteLine($"batchkeeper: {message}");
        return code;
    }

    public bool Exists(string path, out int code)
    {
        code = File.Exists(path) ? ExitCodes.Ok : Fail(ExitCodes.Usage, $"{path}: no such file");
        return code == ExitCodes.Ok;
    }

    /// <summary>How long ago <paramref name="at"/> was, by this context's clock.</summary>
    public string Age(DateTimeOffset at) => CliFormat.Age(at, Clock.GetUtcNow());

    /// <summary>
    /// What to tell the user when a call to AWS could not be made or was refused, and the exit code; null for anything
    /// else (a bug, which should show its stack trace). Configuration and credential problems are the user's to fix (2);
    /// an unreachable or failing service is reported as not OK (1).
    /// </summary>
    public static (int Code, string Message)? AwsFailure(Exception exception) => exception switch
    {
        AwsConfigurationException or ConfigurationException => (ExitCodes.Usage, exception.Message),
        Amazon.Runtime.AmazonClientException => (ExitCodes.Usage, $"AWS credentials: {exception.Message}"),
        BatchServiceException { IsClientError: true } => (ExitCodes.Usage, exception.Message),
        BatchServiceException or CloudWatchLogsException => (ExitCodes.NotOk, exception.Message),
        HttpRequestException or TimeoutException => (ExitCodes.NotOk, $"cannot reach AWS: {exception.Message}"),
        _ => null,
    };
}

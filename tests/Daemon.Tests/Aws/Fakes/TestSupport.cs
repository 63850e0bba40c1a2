namespace Batchkeeper.Daemon.Tests.Aws.Fakes;

/// <summary>Finds the project's shared folder (<c>shared/aws</c> beside the repository).</summary>
internal static class SharedFolder
{
    public static string Aws => Path.Combine(Locate(), "aws");

    private static string Locate()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared");
            if (Directory.Exists(Path.Combine(candidate, "aws")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException(
            $"No shared/aws folder above {AppContext.BaseDirectory}; the repository is expected to be cloned with shared/ beside it.");
    }
}

/// <summary>Tests that set process environment variables; they never run in parallel with any other test.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessEnvironment
{
    public const string Name = "Process environment";
}

/// <summary>Sets environment variables (null unsets) and puts the old values back on dispose.</summary>
internal sealed class EnvironmentScope : IDisposable
{
    private readonly Dictionary<string, string?> _saved = new(StringComparer.Ordinal);

    public EnvironmentScope Set(string name, string? value)
    {
        if (!_saved.ContainsKey(name))
        {
            _saved[name] = Environment.GetEnvironmentVariable(name);
        }

        Environment.SetEnvironmentVariable(name, value);
        return this;
    }

    /// <summary>Unsets every variable the AWS SDK reads for region, profile and credentials, and keeps it off the network.</summary>
    public EnvironmentScope ClearAws(string tempDirectory)
    {
        foreach (var name in new[]
        {
            "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        })
        {
            Set(name, null);
        }

        Set("AWS_CONFIG_FILE", Path.Combine(tempDirectory, "no-config"));
        Set("AWS_SHARED_CREDENTIALS_FILE", Path.Combine(tempDirectory, "no-credentials"));
        // Instance metadata is a network call; never in tests.
        Set("AWS_EC2_METADATA_DISABLED", "true");
        return this;
    }

    public void Dispose()
    {
        foreach (var (name, value) in _saved)
        {
            Environment.SetEnvironmentVariable(name, value);
        }

        Amazon.Runtime.FallbackRegionFactory.Reset();
    }
}

/// <summary>A temporary directory removed on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "bk-aws-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

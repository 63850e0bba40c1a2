using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Cli;

/// <summary>The command line itself as a new user meets it: help, --verbose, and AWS commands with something missing.</summary>
public sealed class CliCommandLineTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>No AWS configuration at all, as on a fresh machine.</summary>
    private Dictionary<string, string> NoAws() => new()
    {
        ["HOME"] = _folder.Path,
        ["AWS_SHARED_CREDENTIALS_FILE"] = _folder.Combine("none", "credentials"),
        ["AWS_CONFIG_FILE"] = _folder.Combine("none", "config"),
        ["AWS_EC2_METADATA_DISABLED"] = "true",
        ["AWS_ACCESS_KEY_ID"] = "",
        ["AWS_SECRET_ACCESS_KEY"] = "",
        ["AWS_SESSION_TOKEN"] = "",
        ["AWS_REGION"] = "",
        ["AWS_DEFAULT_REGION"] = "",
        ["AWS_PROFILE"] = "",
        ["AWS_WEB_IDENTITY_TOKEN_FILE"] = "",
        ["AWS_ROLE_ARN"] = "",
    };

    [Fact]
    public async Task Queue_OnTheLocalBackend_OrWithoutCredentials_SaysWhatIsMissingInOneLine()
    {
        var (code, output, error) = await CliRun.RunAsync(_folder.Path, NoAws(), null, "queue", "local");
        Assert.Equal(2, code);
        Assert.Equal("", output);
        var line = Assert.Single(CliRun.Lines(error));
        Assert.StartsWith("batchkeeper: queue local: the backend is Local (Batchkeeper:Backend), whose jobs are processes on this machine in no Batch queue", line, StringComparison.Ordinal);

        var environment = NoAws();
        environment["AWS_REGION"] = "us-east-1";
        (code, output, error) = await CliRun.RunAsync(_folder.Path, environment, null, "queue", "spot");
        Assert.Equal(2, code);
        Assert.Equal("", output); // no header before the failure
        line = Assert.Single(CliRun.Lines(error));
        Assert.StartsWith("batchkeeper: queue spot: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", line, StringComparison.Ordinal);
        Assert.DoesNotContain("webIdentityTokenFile", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("validate", false)]
    [InlineData("import", false)]
    [InlineData("run", false)]
    [InlineData("dashboard", false)]
    [InlineData("status", true)]
    [InlineData("logs", true)]
    public async Task Interval_IsInTheHelpOfOnlyTheCommandsThatRefresh(string command, bool hasInterval)
    {
        var (code, output, _) = await CliRun.RunAsync(_folder.Path, null, null, command, "--help");

        Assert.Equal(0, code);
        Assert.Equal(hasInterval, output.Contains("--interval", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunHelp_SaysWhereConfigurationAndLogsAre_AndVerboseLogsDebugLines()
    {
        var (code, output, _) = await CliRun.RunAsync(_folder.Path, null, null, "run", "--help");
        Assert.Equal(0, code);
        Assert.Contains("appsettings.json", output, StringComparison.Ordinal);
        Assert.Contains("logs/batchkeeper-YYYYMMDD.log", output, StringComparison.Ordinal);
        Assert.Contains("-v, --verbose", output, StringComparison.Ordinal);

        var project = Demo.CreateProject(_folder.Combine("projects"), "demo", ("a", 1));
        Demo.Drop(Path.Combine(project, "wordcount.json"), Demo.Workflow);
        await using var daemon = DaemonProcess.Start(_folder.Path, new Dictionary<string, string> { ["Batchkeeper__RescanInterval"] = "00:00:01" }, "run", "--verbose");
        await Eventually.WaitAsync(() => daemon.Stdout.Any(l => l.Contains("[DBG] ", StringComparison.Ordinal)) || daemon.HasExited,
            "a debug line about a pass");
        Assert.False(daemon.HasExited, string.Join('\n', daemon.Stderr));
        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }
}

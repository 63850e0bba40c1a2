using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Hosting;

/// <summary>The README's first command, as a new user meets it on a fresh clone (issue 16, item 20).</summary>
public sealed class ReadmeQuickStartTests
{
    [Fact]
    public void TheFirstDotnetRun_IsSaidToBuildFirst_WithNoOutputUntilItIsDone_BeforeTheDemoIsPromisedInSeconds()
    {
        // A fresh clone's first `dotnet run` spent 41 s building, printing nothing, where the README promised
        // "within a couple of seconds": the README says so before it promises anything.
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        const string command = "```sh\ndotnet run --project src/Daemon\n```";
        var at = readme.IndexOf(command, StringComparison.Ordinal);
        Assert.True(at >= 0, "the README starts the daemon with dotnet run");

        var next = readme[(at + command.Length)..].TrimStart();
        var paragraph = next[..next.IndexOf("\n\n", StringComparison.Ordinal)].Replace('\n', ' ');
        var build = paragraph.IndexOf("builds the project before it starts", StringComparison.Ordinal);
        Assert.True(build >= 0, paragraph);
        Assert.Contains("prints nothing until the build is done", paragraph, StringComparison.Ordinal);
        Assert.Contains("`dotnet build` first", paragraph, StringComparison.Ordinal);
        Assert.True(build < paragraph.IndexOf("within a couple of seconds", StringComparison.Ordinal), "the build is said before the seconds");
    }
}

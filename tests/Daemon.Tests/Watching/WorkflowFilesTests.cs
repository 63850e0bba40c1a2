using Batchkeeper.Daemon.Tests.Infrastructure;
using Batchkeeper.Daemon.Watching;

namespace Batchkeeper.Daemon.Tests.Watching;

public sealed class WorkflowFilesTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData("demo/wordcount.json", true)]
    [InlineData("demo/metadata.json", false)]
    [InlineData("demo/wordcount.status.json", false)]
    [InlineData("dashboard.json", false)]
    [InlineData("demo/dashboard.json", false)]
    [InlineData("demo/.hidden.json", false)]
    [InlineData("demo/.#wordcount.json", false)]
    [InlineData("demo/wordcount.json~", false)]
    [InlineData("demo/wordcount.json.swp", false)]
    [InlineData("demo/wordcount.json.tmp", false)]
    [InlineData("demo/notes.txt", false)]
    [InlineData("demo/sub/deeper.json", false)]
    [InlineData(".trash/wordcount.json", false)]
    [InlineData("top.json", false)]
    public void IsWorkflow_FollowsTheNamingRules(string relative, bool expected)
    {
        var root = _folder.Combine("projects");
        Assert.Equal(expected, WorkflowFiles.IsWorkflow(root, Path.Combine(root, relative)));
    }

    [Theory]
    [InlineData("demo/metadata.csv", true)]
    [InlineData("demo/metadata.json", true)]
    [InlineData("demo/samples-2026.csv", true)]
    [InlineData("demo/wordcount.json", false)]
    [InlineData("demo/.metadata.csv", false)]
    [InlineData("demo/inputs/a.csv", false)]
    public void IsMetadata_CoversEveryFileAWorkflowMayTakeItsSamplesFrom(string relative, bool expected)
    {
        var root = _folder.Combine("projects");
        Assert.Equal(expected, WorkflowFiles.IsMetadata(root, Path.Combine(root, relative)));
    }

    [Fact]
    public void Scan_IgnoresLinksThatLeaveTheRoot_AndGivesAFileReachedTwiceInsideOnce_UnderItsRealPath()
    {
        var root = _folder.Combine("projects");
        Directory.CreateDirectory(Path.Combine(root, "demo"));
        File.WriteAllText(Path.Combine(root, "demo", "real.json"), "{}");
        var outside = _folder.Combine("outside.json");
        File.WriteAllText(outside, "{}");
        File.CreateSymbolicLink(Path.Combine(root, "demo", "escape.json"), outside);
        File.CreateSymbolicLink(Path.Combine(root, "demo", "alias.json"), Path.Combine(root, "demo", "real.json"));
        Directory.CreateDirectory(_folder.Combine("elsewhere"));
        File.WriteAllText(_folder.Combine("elsewhere", "other.json"), "{}");
        Directory.CreateSymbolicLink(Path.Combine(root, "linked"), _folder.Combine("elsewhere"));

        var found = WorkflowFiles.Scan(root).Select(p => Path.GetRelativePath(root, p)).Order().ToArray();
        Assert.Equal(["demo/real.json"], found);
    }
}

using Batchkeeper.Core.Planning;

namespace Batchkeeper.Core.Tests.Planning;

public sealed class JobTemplateTests
{
    private static readonly JobTemplate Planned = new(
        "q", "def:1",
        new Dictionary<string, string> { ["try"] = "{attempt}" },
        ["run", "--try={attempt}", "{{attempt}}"],
        new Dictionary<string, string> { ["TRY"] = "{attempt}", ["FIXED"] = "x" },
        2, 1000, 600,
        new Dictionary<string, string> { ["attempt"] = "a{attempt}" });

    [Fact]
    public void Finalize_FillsTheAttemptIntoParametersCommandEnvironmentAndTags_AndKeepsTheRest()
    {
        var job = Planned.Finalize(3);

        Assert.Equal("3", job.Parameters["try"]);
        Assert.Equal(["run", "--try=3", "{attempt}"], job.Command);
        Assert.Equal(("3", "x"), (job.Environment["TRY"], job.Environment["FIXED"]));
        Assert.Equal("a3", job.Tags["attempt"]);
        Assert.Equal(("q", "def:1", 2, 1000, 600), (job.Queue, job.JobDefinition, job.Vcpus, job.MemoryMiB, job.TimeoutSeconds));
    }

    [Fact]
    public void Finalize_LeavesThePlannedTemplateUnchanged()
    {
        _ = Planned.Finalize(2);

        Assert.Equal("{attempt}", Planned.Parameters["try"]);
        Assert.Equal("--try={attempt}", Planned.Command![1]);
    }

    [Fact]
    public void Finalize_WithoutACommand_KeepsNone()
    {
        Assert.Null((Planned with { Command = null }).Finalize(1).Command);
    }
}

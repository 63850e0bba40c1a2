using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Security;

/// <summary>s3:// outputs on the Local backend, which cannot check them: one clear error, in the snapshot, the log (once) and from validate/create.</summary>
public sealed class S3OutputsOnLocalTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private const string Workflow = """
        { "workflow_name": "w", "analyses": [ { "name": "a", "job_definition": "d:1", "queue": "local",
          "command": ["true"], "outputs": ["s3://bucket/{sample_name}.txt"] } ] }
        """;

    private const string Expected = "w.json: analyses[0].outputs: 's3://bucket/{sample_name}.txt' are on S3, but the Local backend checks only file outputs";

    [Fact]
    public async Task TheDaemon_ReportsOneErrorForTheWorkflow_AndLogsItOnce_WithoutAStackTrace()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        var project = Demo.CreateProject(daemon.Projects, "p", ("a", 1));
        Demo.Drop(Path.Combine(project, "w.json"), Workflow);

        await TestDaemon.WaitForSnapshotAsync(Path.Combine(project, "w.json"), s => s.Errors.Any(e => e.Message.StartsWith(Expected, StringComparison.Ordinal)), "the error is in the snapshot");
        await TestDaemon.WaitForAnotherPassAsync(Path.Combine(project, "w.json"), "another pass");
        var log = LogFiles.Read(daemon.LogDirectory);
        Assert.Equal(1, log.Split(Expected).Length - 1);
        Assert.False(LogFiles.HasLine(log, "Reconciling failed", "[p/w.json]"), "the workflow's pass did not fail");
        Assert.DoesNotContain("   at ", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateAndCreate_SaySo_WithANonZeroExit()
    {
        var projects = _folder.Combine("projects");
        var project = Demo.CreateProject(projects, "p", ("a", 1));
        await File.WriteAllTextAsync(Path.Combine(project, "w.json"), Workflow);
        var definition = _folder.Combine("w.json");
        await File.WriteAllTextAsync(definition, Workflow);
        var environment = new Dictionary<string, string> { ["Batchkeeper__ProjectsDirectory"] = projects };

        await using (var validate = DaemonProcess.Start(_folder.Path, environment, "validate", Path.Combine(project, "w.json")))
        {
            Assert.Equal(1, await validate.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains(validate.Stderr, l => l.StartsWith(Expected, StringComparison.Ordinal));
        }

        File.Delete(Path.Combine(project, "w.json"));
        await using var create = DaemonProcess.Start(_folder.Path, environment, "create", "p", "--definition", definition);
        Assert.NotEqual(0, await create.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains(create.Stderr, l => l.StartsWith(Expected, StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(project, "w.json")), "create wrote the workflow");
    }
}

using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Reliability;

public sealed class LoadTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task AThousandWorkflowFilesDroppedAtOnce_AreAllPickedUpAndReconciled()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path, new Dictionary<string, string?> { ["Batchkeeper:ReconcileInterval"] = "00:01:00" });
        const int count = 1000;
        var projects = Enumerable.Range(0, 10).Select(p => Demo.CreateProject(daemon.Projects, $"p{p}", ("s1", 1))).ToArray();
        foreach (var project in projects)
        {
            // Every output already exists: the test is about finding and reconciling files, not running jobs.
            Directory.CreateDirectory(Path.Combine(project, "out"));
            for (var w = 0; w < count / projects.Length; w++)
            {
                await File.WriteAllTextAsync(Path.Combine(project, "out", $"w{w}.s1"), "done");
            }
        }

        var paths = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var project = projects[i % projects.Length];
            var w = i / projects.Length;
            var path = Path.Combine(project, $"w{w}.json");
            await File.WriteAllTextAsync(path, $$"""
                { "workflow_name": "w{{w}}", "analyses": [ { "name": "a", "job_definition": "d:1", "queue": "local", "command": ["true"], "outputs": ["out/w{{w}}.{sample_name}"] } ] }
                """);
            paths.Add(path);
        }

        await Eventually.WaitAsync(
            () => paths.All(p => File.Exists(Path.ChangeExtension(p, null) + ".status.json")),
            $"a snapshot for each of the {count} workflows", TimeSpan.FromMinutes(3));

        var notComplete = new List<string>();
        foreach (var path in paths)
        {
            var snapshot = await TestDaemon.WaitForSnapshotAsync(path, s => s.Summary.Complete == 1, $"{path} complete", TimeSpan.FromSeconds(30));
            if (snapshot.Errors.Count > 0)
            {
                notComplete.Add(path);
            }
        }

        Assert.Empty(notComplete);
        var dashboard = Path.Combine(daemon.Projects, "dashboard.json");
        await Eventually.WaitAsync(
            () => File.Exists(dashboard) && System.Text.Json.JsonDocument.Parse(File.ReadAllText(dashboard)).RootElement.GetProperty("workflows").GetArrayLength() == count,
            "the dashboard lists every workflow");
        Assert.Empty(Directory.GetFiles(Path.Combine(daemon.WorkDirectory, "jobs")));
    }
}

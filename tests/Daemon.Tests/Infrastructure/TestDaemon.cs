using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Snapshots;
using Batchkeeper.Daemon.Watching;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Batchkeeper.Daemon.Tests.Infrastructure;

/// <summary>The real daemon host, started in this process on a temporary projects folder.</summary>
public sealed class TestDaemon : IAsyncDisposable
{
    private TestDaemon(IHost host, string root)
    {
        Host = host;
        Root = root;
    }

    public IHost Host { get; }

    /// <summary>The folder holding projects/, logs/ and the local work directory.</summary>
    public string Root { get; }

    public string Projects => Path.Combine(Root, "projects");

    public string LogDirectory => Path.Combine(Root, "logs");

    public string WorkDirectory => Path.Combine(Root, "work");

    public static async Task<TestDaemon> StartAsync(string root, IDictionary<string, string?>? settings = null, Action<IServiceCollection>? configureServices = null)
    {
        var overrides = new Dictionary<string, string?>
        {
            ["Batchkeeper:ProjectsDirectory"] = Path.Combine(root, "projects"),
            ["Batchkeeper:LogDirectory"] = Path.Combine(root, "logs"),
            ["Batchkeeper:Local:WorkDirectory"] = Path.Combine(root, "work"),
            ["Batchkeeper:Local:MaxConcurrentJobs"] = "2",
            ["Batchkeeper:ReconcileInterval"] = "00:00:02",
            ["Batchkeeper:RescanInterval"] = "00:00:01",
            ["Batchkeeper:Debounce"] = "00:00:00.100",
            ["Batchkeeper:OutputGracePeriod"] = "00:00:02",
            ["Batchkeeper:Retry:Backoff"] = "00:00:00.200",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            overrides[key] = value;
        }

        var host = DaemonHost.Build([], overrides, console: false, configureServices);
        await host.StartAsync();
        var daemon = new TestDaemon(host, root);
        await daemon.Host.Services.GetRequiredService<ProjectsWatcher>().FirstScanDone.WaitAsync(TimeSpan.FromSeconds(30));
        return daemon;
    }

    public string WorkflowPath(string project, string file) => Path.Combine(Projects, project, file);

    public static Task<WorkflowSnapshot?> ReadSnapshotAsync(string workflowPath) => SnapshotStore.LoadAsync(workflowPath, CancellationToken.None);

    /// <summary>Waits until the workflow's snapshot satisfies <paramref name="done"/>.</summary>
    public static Task<WorkflowSnapshot> WaitForSnapshotAsync(string workflowPath, Func<WorkflowSnapshot, bool> done, string what, TimeSpan? timeout = null) =>
        Eventually.WaitAsync(() => ReadSnapshotAsync(workflowPath), s => s is not null && done(s), what, timeout);

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync(TimeSpan.FromSeconds(30));
        Host.Dispose();
    }
}

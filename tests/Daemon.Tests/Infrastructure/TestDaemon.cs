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
            // A port of its own: tests run side by side, and a developer's daemon may hold the default 8421.
            ["Batchkeeper:Web:Url"] = "http://127.0.0.1:0",
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

    /// <summary>
    /// The daemon on the AWS backend: Batch at <paramref name="batch"/> (the emulator), S3 at <paramref name="s3"/>
    /// (s3rver, path-style, its credentials), passes every second and short AWS retry delays; <paramref name="settings"/>
    /// adds to or overrides these.
    /// </summary>
    public static Task<TestDaemon> StartOnAwsAsync(string root, Uri batch, string s3, IDictionary<string, string?>? settings = null)
    {
        var aws = new Dictionary<string, string?>
        {
            ["Batchkeeper:Backend"] = "Aws",
            ["Batchkeeper:ReconcileInterval"] = "00:00:01",
            ["Batchkeeper:Aws:Region"] = "us-east-1",
            ["Batchkeeper:Aws:BatchServiceUrl"] = batch.ToString(),
            ["Batchkeeper:Aws:S3ServiceUrl"] = s3,
            ["Batchkeeper:Aws:S3ForcePathStyle"] = "true",
            ["Batchkeeper:Aws:RetryBaseDelay"] = "00:00:00.050",
            ["Batchkeeper:Aws:RetryMaxDelay"] = "00:00:00.500",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            aws[key] = value;
        }

        return StartAsync(root, aws, services => services.AddSingleton<Amazon.Runtime.AWSCredentials>(
            new Amazon.Runtime.BasicAWSCredentials(S3rver.AccessKey, S3rver.SecretKey)));
    }

    public string WorkflowPath(string project, string file) => Path.Combine(Projects, project, file);

    public static Task<WorkflowSnapshot?> ReadSnapshotAsync(string workflowPath) => FileSnapshotStore.LoadAsync(workflowPath, CancellationToken.None);

    /// <summary>Waits until the workflow's snapshot satisfies <paramref name="done"/>.</summary>
    public static Task<WorkflowSnapshot> WaitForSnapshotAsync(string workflowPath, Func<WorkflowSnapshot, bool> done, string what, TimeSpan? timeout = null) =>
        Eventually.WaitAsync(() => ReadSnapshotAsync(workflowPath), s => s is not null && done(s), what, timeout, Describe);

    /// <summary>
    /// When the daemon last began a pass of the workflow, from its row in the heartbeat (<c>dashboard.json</c>); null before
    /// the first. The snapshot file says when its content last changed: a pass that changes nothing leaves it as it is.
    /// </summary>
    public static async Task<DateTimeOffset?> LastPassAtAsync(string workflowPath)
    {
        var full = Path.GetFullPath(workflowPath);
        var root = Path.GetDirectoryName(Path.GetDirectoryName(full))!;
        var dashboard = await Dashboard.ReadAsync(root, CancellationToken.None);
        return dashboard?.Workflows.FirstOrDefault(r => r.File == Path.GetRelativePath(root, full))?.ReconciledAt;
    }

    /// <summary>When the daemon last began a pass of the workflow, once its heartbeat has a row for it.</summary>
    public static async Task<DateTimeOffset> WaitForLastPassAtAsync(string workflowPath) =>
        (await Eventually.WaitAsync(() => LastPassAtAsync(workflowPath), at => at is not null, $"a row for {workflowPath} in the dashboard"))!.Value;

    /// <summary>
    /// Waits until the daemon has begun a pass of the workflow later than <paramref name="after"/> (by its heartbeat) and
    /// the snapshot satisfies <paramref name="done"/>; returns the snapshot.
    /// </summary>
    public static async Task<WorkflowSnapshot> WaitForPassAsync(
        string workflowPath, DateTimeOffset after, string what, Func<WorkflowSnapshot, bool>? done = null, TimeSpan? timeout = null)
    {
        var seen = await Eventually.WaitAsync(
            async () => (Snapshot: await ReadSnapshotAsync(workflowPath), LastPass: await LastPassAtAsync(workflowPath)),
            v => v.Snapshot is not null && v.LastPass > after && (done?.Invoke(v.Snapshot) ?? true),
            what, timeout, v => $"last pass {v.LastPass:O}; {Describe(v.Snapshot)}");
        return seen.Snapshot!;
    }

    /// <summary>Waits for a pass of the workflow after the last one seen so far (the first one if none was seen).</summary>
    public static async Task<WorkflowSnapshot> WaitForAnotherPassAsync(string workflowPath, string what, TimeSpan? timeout = null) =>
        await WaitForPassAsync(workflowPath, await LastPassAtAsync(workflowPath) ?? DateTimeOffset.MinValue, what, timeout: timeout);

    private static string Describe(WorkflowSnapshot? s) => s is null
        ? "no snapshot"
        : System.Text.Json.JsonSerializer.Serialize(new { s.ReconciledAt, s.Summary, s.Errors, Slots = s.Slots.Select(x => new { x.Sample, x.Analysis, x.State, x.Message }) });

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync(TimeSpan.FromSeconds(30));
        Host.Dispose();
    }
}

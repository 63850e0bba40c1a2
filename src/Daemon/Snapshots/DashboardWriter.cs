using System.Text.Json;
using System.Threading.Channels;
using Batchkeeper.Core.Passes;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Registry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Snapshots;

/// <summary>One row of <c>dashboard.json</c>: a workflow's progress at a glance.</summary>
public sealed record DashboardRow(
    string Project,
    string? Workflow,
    string File,
    string Backend,
    SnapshotSummary Summary,
    int Errors,
    string? FirstError,
    DateTimeOffset ReconciledAt,
    DateTimeOffset? NextReconcileAt);

/// <summary>The whole dashboard, as written to <c>projects/dashboard.json</c>.</summary>
public sealed record Dashboard(string Schema, DateTimeOffset WrittenAt, IReadOnlyList<DashboardRow> Workflows)
{
    public const string SchemaName = "batchkeeper.dashboard/1";
}

/// <summary>
/// Keeps one row per managed workflow, from the change feed (a pass's snapshot makes or replaces the row, the
/// workflow's removal drops it), and writes <c>dashboard.json</c> atomically, coalescing bursts of passes into at most
/// one write per <see cref="MinInterval"/>.
/// </summary>
public sealed class DashboardWriter : BackgroundService
{
    private static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(250);
    private readonly IOptions<BatchkeeperOptions> _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<DashboardWriter> _logger;
    private readonly ChannelReader<WorkflowChange> _changes;
    private readonly Dictionary<string, DashboardRow> _rows = new(StringComparer.Ordinal); // guarded by _writeLock
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly RepeatedWriteFailure _writes = new(); // guarded by _writeLock
    private bool _leftoversDeleted; // guarded by _writeLock

    private readonly Metrics.DaemonMetrics? _metrics;

    public DashboardWriter(
        IWorkflowChanges changes, IOptions<BatchkeeperOptions> options, TimeProvider clock, ILogger<DashboardWriter> logger, Metrics.DaemonMetrics? metrics = null)
    {
        _options = options;
        _metrics = metrics;
        _clock = clock;
        _logger = logger;
        _changes = changes.Subscribe(CancellationToken.None);
    }

    public string Path => System.IO.Path.Combine(System.IO.Path.GetFullPath(_options.Value.ProjectsDirectory), Watching.WorkflowFiles.Dashboard);

    /// <summary>Under <see cref="_writeLock"/>: applies every change published so far.</summary>
    private void Drain()
    {
        var root = System.IO.Path.GetFullPath(_options.Value.ProjectsDirectory);
        while (_changes.TryRead(out var change))
        {
            switch (change)
            {
                case PassCompleted { Snapshot: var snapshot }:
                    _rows[change.Path] = new DashboardRow(
                        snapshot.Project, snapshot.Workflow, System.IO.Path.GetRelativePath(root, change.Path), snapshot.Backend,
                        snapshot.Summary, snapshot.Errors.Count, snapshot.Errors.FirstOrDefault()?.Message, snapshot.ReconciledAt, snapshot.NextReconcileAt);
                    break;
                case WorkflowRemoved:
                    _rows.Remove(change.Path);
                    break;
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                // Woken by the first change after a write; the changes of the next MinInterval wait for the next write.
                if (!await _changes.WaitToReadAsync(stoppingToken))
                {
                    return;
                }

                await WriteAsync(stoppingToken);
                await Task.Delay(MinInterval, _clock, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Clean stop; StopAsync writes the final dashboard.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await WriteAsync(CancellationToken.None);
    }

    /// <summary>Writes the dashboard now, with every change published before this call.</summary>
    public async Task WriteAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            Drain();
            var rows = _rows.Values.OrderBy(r => r.Project, StringComparer.Ordinal).ThenBy(r => r.File, StringComparer.Ordinal).ToArray();
            var bytes = JsonSerializer.SerializeToUtf8Bytes(new Dashboard(Dashboard.SchemaName, _clock.GetUtcNow(), rows), SnapshotJson.Options);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            if (!_leftoversDeleted)
            {
                // Before the first write of this process: any temp file of the dashboard is from a write that was killed.
                _leftoversDeleted = true;
                if (AtomicFile.DeleteLeftovers(Path) is > 0 and var leftovers)
                {
                    Log.InterruptedDashboardWritesCleanedUp(_logger, Path, leftovers);
                }
            }

            await AtomicFile.WriteAsync(Path, bytes, cancellationToken);
            if (_writes.Recovered())
            {
                Log.DashboardWrittenAgain(_logger, Path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _metrics?.SnapshotWriteFailed(Metrics.SnapshotFile.Dashboard);
            if (_writes.IsNew(e))
            {
                Log.DashboardWriteFailed(_logger, Path, e.Message);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }
}

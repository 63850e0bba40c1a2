using System.Collections.Concurrent;
using System.Text.Json;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Hosting;
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
/// Keeps one row per managed workflow and writes <c>dashboard.json</c> atomically, coalescing bursts of
/// updates into at most one write per <see cref="MinInterval"/>.
/// </summary>
public sealed class DashboardWriter(IOptions<BatchkeeperOptions> options, TimeProvider clock, ILogger<DashboardWriter> logger) : BackgroundService
{
    private static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(250);
    private readonly ConcurrentDictionary<string, DashboardRow> _rows = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _dirty = new(0, 1);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly RepeatedWriteFailure _writes = new(); // guarded by _writeLock
    private bool _leftoversDeleted; // guarded by _writeLock

    public string Path => System.IO.Path.Combine(System.IO.Path.GetFullPath(options.Value.ProjectsDirectory), Watching.WorkflowFiles.Dashboard);

    public void Update(string workflowPath, WorkflowSnapshot snapshot)
    {
        var root = System.IO.Path.GetFullPath(options.Value.ProjectsDirectory);
        _rows[workflowPath] = new DashboardRow(
            snapshot.Project, snapshot.Workflow, System.IO.Path.GetRelativePath(root, workflowPath), snapshot.Backend,
            snapshot.Summary, snapshot.Errors.Count, snapshot.Errors.FirstOrDefault()?.Message, snapshot.ReconciledAt, snapshot.NextReconcileAt);
        MarkDirty();
    }

    public void Remove(string workflowPath)
    {
        if (_rows.TryRemove(workflowPath, out _))
        {
            MarkDirty();
        }
    }

    private void MarkDirty()
    {
        if (_dirty.CurrentCount == 0)
        {
            try
            {
                _dirty.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already marked.
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await _dirty.WaitAsync(stoppingToken);
                await WriteAsync(stoppingToken);
                await Task.Delay(MinInterval, clock, stoppingToken);
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

    /// <summary>Writes the dashboard now.</summary>
    public async Task WriteAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var rows = _rows.Values.OrderBy(r => r.Project, StringComparer.Ordinal).ThenBy(r => r.File, StringComparer.Ordinal).ToArray();
            var bytes = JsonSerializer.SerializeToUtf8Bytes(new Dashboard(Dashboard.SchemaName, clock.GetUtcNow(), rows), SnapshotJson.Options);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            if (!_leftoversDeleted)
            {
                // Before the first write of this process: any temp file of the dashboard is from a write that was killed.
                _leftoversDeleted = true;
                if (AtomicFile.DeleteLeftovers(Path) is > 0 and var leftovers)
                {
                    Log.InterruptedDashboardWritesCleanedUp(logger, Path, leftovers);
                }
            }

            await AtomicFile.WriteAsync(Path, bytes, cancellationToken);
            if (_writes.Recovered())
            {
                Log.DashboardWrittenAgain(logger, Path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (_writes.IsNew(e))
            {
                Log.DashboardWriteFailed(logger, Path, e.Message);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }
}

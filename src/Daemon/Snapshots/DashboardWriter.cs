using System.Text.Json;
using System.Threading.Channels;
using Batchkeeper.Core.Passes;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Registry;
using Batchkeeper.Daemon.Systemd;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Snapshots;

/// <summary>
/// Keeps one row per managed workflow, from the change feed (a pass's snapshot makes or replaces the row, the
/// workflow's removal drops it), and writes <c>dashboard.json</c> atomically, coalescing bursts of passes into at most
/// one write per <see cref="MinInterval"/>. The file is the daemon's heartbeat too, since snapshots are rewritten only
/// when their content changes: with no pass to report it is written again every <see cref="HeartbeatInterval"/>
/// while the reconcile loop is alive (<see cref="LoopHealth"/>), and a clean stop writes it last with <c>stopped_at</c>.
/// </summary>
public sealed class DashboardWriter : BackgroundService
{
    private static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest the heartbeat waits: the reconcile interval, at most 30 s.</summary>
    private static readonly TimeSpan LongestHeartbeat = TimeSpan.FromSeconds(30);

    private readonly IOptions<BatchkeeperOptions> _options;
    private readonly TimeProvider _clock;
    private readonly LoopHealth _health;
    private readonly ILogger<DashboardWriter> _logger;
    private readonly ChannelReader<WorkflowChange> _changes;
    private readonly Dictionary<string, DashboardRow> _rows = new(StringComparer.Ordinal); // guarded by _writeLock
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly RepeatedWriteFailure _writes = new(); // guarded by _writeLock
    private bool _leftoversDeleted; // guarded by _writeLock
    private long _lastWriteTicks; // UTC ticks of the last write, or of a heartbeat skipped by a hung loop
    private volatile bool _stopped; // set by StopAsync: every write from then on says the daemon stopped

    private readonly Metrics.DaemonMetrics? _metrics;

    public DashboardWriter(
        IWorkflowChanges changes, IOptions<BatchkeeperOptions> options, TimeProvider clock, LoopHealth health, ILogger<DashboardWriter> logger,
        Metrics.DaemonMetrics? metrics = null)
    {
        _options = options;
        _metrics = metrics;
        _clock = clock;
        _health = health;
        _logger = logger;
        _changes = changes.Subscribe(CancellationToken.None);
    }

    /// <summary>How long the dashboard may go unwritten while the daemon runs: the reconcile interval, at most 30 s.</summary>
    public TimeSpan HeartbeatInterval => _options.Value.ReconcileInterval < LongestHeartbeat ? _options.Value.ReconcileInterval : LongestHeartbeat;

    public string Path => System.IO.Path.Combine(System.IO.Path.GetFullPath(_options.Value.ProjectsDirectory), Watching.WorkflowFiles.Dashboard);

    /// <summary>Under <see cref="_writeLock"/>: applies every change published so far.</summary>
    private void Drain()
    {
        var root = System.IO.Path.GetFullPath(_options.Value.ProjectsDirectory);
        while (_changes.TryRead(out var change))
        {
            switch (change)
            {
                case PassCompleted { Snapshot: var snapshot } pass:
                    _rows[change.Path] = new DashboardRow(
                        snapshot.Project, snapshot.Workflow, System.IO.Path.GetRelativePath(root, change.Path), snapshot.Backend,
                        snapshot.Summary, snapshot.Errors.Count, snapshot.Errors.FirstOrDefault()?.Message, snapshot.ReconciledAt, snapshot.NextReconcileAt,
                        pass.Took is { } took ? Math.Round(took.TotalSeconds, 3) : null);
                    break;
                case WorkflowRemoved:
                    _rows.Remove(change.Path);
                    break;
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Task<bool>? changed = null;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                // Woken by the first change after a write (the changes of the next MinInterval wait for the next write),
                // or by the heartbeat when no change came for its interval.
                changed ??= _changes.WaitToReadAsync(stoppingToken).AsTask();
                var due = new DateTimeOffset(Interlocked.Read(ref _lastWriteTicks), TimeSpan.Zero) + HeartbeatInterval - _clock.GetUtcNow();
                if (!changed.IsCompleted && due > TimeSpan.Zero)
                {
                    using var beat = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    await Task.WhenAny(changed, Task.Delay(due, _clock, beat.Token));
                    await beat.CancelAsync();
                    stoppingToken.ThrowIfCancellationRequested();
                }

                if (changed.IsCompleted)
                {
                    if (!await changed)
                    {
                        return;
                    }

                    changed = null;
                    await WriteAsync(stoppingToken);
                    await Task.Delay(MinInterval, _clock, stoppingToken);
                }
                else if (_health.Problem() is null)
                {
                    await WriteAsync(stoppingToken);
                }
                else
                {
                    // A hung loop gets no heartbeat: the file goes stale, and `status` says the daemon is not heard from.
                    Interlocked.Exchange(ref _lastWriteTicks, _clock.GetUtcNow().UtcTicks);
                }
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
        _stopped = true;
        await WriteAsync(CancellationToken.None);
    }

    /// <summary>
    /// Writes the dashboard now, with every change published before this call. Once the writer has stopped (the last
    /// passes of a stopping daemon may still write it, see <see cref="Reconciliation.StoppedJobsPasses"/>), it says
    /// when the daemon stopped and promises no next write.
    /// </summary>
    public async Task WriteAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var stopped = _stopped;
            Drain();
            var rows = _rows.Values.OrderBy(r => r.Project, StringComparer.Ordinal).ThenBy(r => r.File, StringComparer.Ordinal).ToArray();
            var now = _clock.GetUtcNow();
            Interlocked.Exchange(ref _lastWriteTicks, now.UtcTicks);
            var dashboard = new Dashboard(Dashboard.SchemaName, now, stopped ? null : now + HeartbeatInterval, stopped ? now : null, rows);
            var bytes = JsonSerializer.SerializeToUtf8Bytes(dashboard, SnapshotJson.Options);
            if (!Directory.Exists(System.IO.Path.GetDirectoryName(Path)))
            {
                // The projects root was deleted: the watcher says so, and the heartbeat does not make it again.
                return;
            }

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

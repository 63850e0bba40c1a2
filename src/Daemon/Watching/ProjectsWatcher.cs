using System.Threading.Channels;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Registry;
using Batchkeeper.Daemon.Scheduling;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Watching;

/// <summary>
/// Finds workflow files: a <see cref="FileSystemWatcher"/> for speed, a debounce so that a burst of writes
/// gives one pass, and a periodic full rescan because watchers miss events (overflow, network folders). A new file is
/// added to the <see cref="WorkflowRegistry"/>, a gone one removed from it (the scheduler reads both from the feed);
/// a change to a managed one asks the scheduler for a pass now.
/// </summary>
public sealed class ProjectsWatcher(
    WorkflowRegistry registry,
    WorkflowScheduler scheduler,
    Systemd.LoopHealth health,
    IOptions<BatchkeeperOptions> options,
    TimeProvider clock,
    ILogger<ProjectsWatcher> logger) : BackgroundService
{
    private readonly Channel<string?> _events = Channel.CreateUnbounded<string?>(new UnboundedChannelOptions { SingleReader = true });
    /// <summary>What each workflow file looked like when last seen, to tell a changed file from an unchanged one. Which files are managed is the registry's.</summary>
    private readonly Dictionary<string, (DateTime Written, long Length)> _stamps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _pending = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _firstScan = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the first full scan has added every workflow file and the scheduler has made their jobs.</summary>
    public Task FirstScanDone => _firstScan.Task;

    /// <summary>The event that asks for a rescan and a pass of every workflow (SIGHUP, <c>systemctl reload</c>).</summary>
    private const string ReconcileAllEvent = "\0reconcile-all";

    /// <summary>Rescans the projects folder and runs a pass of every workflow now, whatever the schedule says.</summary>
    public void ReconcileAll() => _events.Writer.TryWrite(ReconcileAllEvent);

    private string Root => Path.GetFullPath(options.Value.ProjectsDirectory);

    private static readonly TimeSpan RootCheckInterval = TimeSpan.FromSeconds(1);

    private FileSystemWatcher? _watcher;
    private (ulong Device, ulong Inode)? _watchedRoot;
    private bool _rootMissing;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Directory.CreateDirectory(Root);
        try
        {
            Arm();
            await WatchAsync(stoppingToken);
        }
        finally
        {
            _watcher?.Dispose();
        }
    }

    /// <summary>A watcher on the projects root as it is now (a root deleted and made again is a new folder to watch).</summary>
    private void Arm()
    {
        _watcher?.Dispose();
        _watcher = null;
        var watcher = new FileSystemWatcher(Root)
        {
            IncludeSubdirectories = true,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
            InternalBufferSize = 64 * 1024,
        };
        watcher.Created += (_, e) => _events.Writer.TryWrite(e.FullPath);
        watcher.Changed += (_, e) => _events.Writer.TryWrite(e.FullPath);
        watcher.Deleted += (_, e) => _events.Writer.TryWrite(e.FullPath);
        watcher.Renamed += (_, e) =>
        {
            _events.Writer.TryWrite(e.OldFullPath);
            _events.Writer.TryWrite(e.FullPath);
        };
        watcher.Error += (_, e) =>
        {
            Log.WatcherError(logger, e.GetException().Message);
            _events.Writer.TryWrite(null);
        };
        watcher.EnableRaisingEvents = true;
        _watcher = watcher;
        _watchedRoot = Files.ProjectFile.Identity(Root);
    }

    /// <summary>
    /// Notices the projects root going away (a warning, once) and coming back or being replaced (the watcher is armed
    /// again on the new folder, and it is rescanned): a watcher on a deleted folder hears nothing ever again.
    /// </summary>
    /// <returns>True when the watcher was armed again (the caller rescans).</returns>
    private bool CheckRoot()
    {
        var identity = Files.ProjectFile.Identity(Root);
        if (identity is null || !Directory.Exists(Root))
        {
            if (!_rootMissing)
            {
                Log.ProjectsRootMissing(logger, Root);
                _rootMissing = true;
                _watcher?.Dispose();
                _watcher = null;
            }

            return false;
        }

        if (_watcher is not null && identity == _watchedRoot)
        {
            return false;
        }

        try
        {
            Arm();
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return false;
        }

        Log.ProjectsRootWatchedAgain(logger, Root);
        _rootMissing = false;
        return true;
    }

    private async Task WatchAsync(CancellationToken stoppingToken)
    {
        await RescanAsync(stoppingToken);
        Log.FirstScanDone(logger, registry.Paths.Count);
        await scheduler.ProcessedThroughAsync(registry.Sequence, stoppingToken);
        _firstScan.TrySetResult();

        var nextRescan = clock.GetUtcNow() + options.Value.RescanInterval;
        var reconcileAll = false;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                health.Beat();
                var now = clock.GetUtcNow();
                // At least once a second, to see whether the root is still the folder being watched.
                var wakeAt = Min(_pending.Count > 0 ? Min(_pending.Values.Min(), nextRescan) : nextRescan, now + RootCheckInterval);
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                wait.CancelAfter(Max(wakeAt - now, TimeSpan.Zero));
                try
                {
                    while (await _events.Reader.WaitToReadAsync(wait.Token))
                    {
                        while (_events.Reader.TryRead(out var changed))
                        {
                            if (changed is null)
                            {
                                nextRescan = clock.GetUtcNow();
                            }
                            else if (changed == ReconcileAllEvent)
                            {
                                reconcileAll = true;
                            }
                            else
                            {
                                // Debounce: the pass runs once the file has been quiet for a while.
                                _pending[changed] = clock.GetUtcNow() + options.Value.Debounce;
                            }
                        }

                        break;
                    }
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    // Woke up for a due debounce or rescan.
                }

                now = clock.GetUtcNow();
                if (CheckRoot())
                {
                    nextRescan = now;
                }

                foreach (var path in _pending.Where(p => p.Value <= now).Select(p => p.Key).ToArray())
                {
                    _pending.Remove(path);
                    await HandleChangeAsync(path, stoppingToken);
                }

                if (now >= nextRescan || reconcileAll)
                {
                    await RescanAsync(stoppingToken, everyWorkflow: reconcileAll);
                    reconcileAll = false;
                    nextRescan = clock.GetUtcNow() + options.Value.RescanInterval;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Clean stop.
        }
    }

    private async Task HandleChangeAsync(string path, CancellationToken cancellationToken)
    {
        if (WorkflowFiles.IsWorkflow(Root, path))
        {
            if (Files.ProjectFile.Exists(path))
            {
                // Under its real path only: a second name for a managed file (a link inside the root) is not a second workflow.
                if (WorkflowFiles.Canonical(Root, path) is { } real && WorkflowFiles.IsWorkflow(Root, real))
                {
                    Remember(real);
                    if (!registry.Add(real))
                    {
                        await SafelyAsync(real, () => scheduler.TriggerNowAsync(real, cancellationToken));
                    }
                }
            }
            else
            {
                _stamps.Remove(path);
                registry.Remove(path);
            }
        }
        else if (WorkflowFiles.IsRetryRequest(Root, path) && File.Exists(path))
        {
            var workflow = Workflows.RetryRequestFile.WorkflowFor(path);
            if (registry.IsManaged(workflow))
            {
                await SafelyAsync(workflow, () => scheduler.TriggerNowAsync(workflow, cancellationToken));
            }
        }
        else if (WorkflowFiles.IsMetadata(Root, path))
        {
            var project = Path.GetDirectoryName(path)!;
            foreach (var workflow in registry.Paths.Where(k => Path.GetDirectoryName(k) == project))
            {
                await SafelyAsync(workflow, () => scheduler.TriggerNowAsync(workflow, cancellationToken));
            }
        }
        else if (Directory.Exists(path) || !Path.HasExtension(path))
        {
            // A project folder appeared, vanished or was renamed: its files produce no events of their own.
            await RescanAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Lists every workflow file: adds new ones, removes gone ones, and triggers ones that changed unseen, or with
    /// <paramref name="everyWorkflow"/> every one, changed or not (each gets one pass).
    /// </summary>
    private async Task RescanAsync(CancellationToken cancellationToken, bool everyWorkflow = false)
    {
        var found = WorkflowFiles.Scan(Root).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in registry.Paths.Where(k => !found.Contains(k)))
        {
            _stamps.Remove(gone);
            registry.Remove(gone);
        }

        foreach (var path in found)
        {
            var before = _stamps.TryGetValue(path, out var seen) ? seen : default((DateTime, long)?);
            // Added again even when unchanged: a pass that found the file gone (moved away and back) removed it.
            if (Remember(path) is { } now && !registry.Add(path) && (now != before || everyWorkflow))
            {
                await SafelyAsync(path, () => scheduler.TriggerNowAsync(path, cancellationToken));
            }
        }
    }

    private (DateTime, long)? Remember(string path)
    {
        try
        {
            var info = new FileInfo(path);
            var stamp = (info.LastWriteTimeUtc, info.Length);
            _stamps[path] = stamp;
            return stamp;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private async Task SafelyAsync(string path, Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.ScheduleFailed(logger, path, e.Message, e);
        }
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}

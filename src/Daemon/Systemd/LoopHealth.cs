using System.Collections.Concurrent;

namespace Batchkeeper.Daemon.Systemd;

/// <summary>
/// Whether the reconcile loop is alive: the projects watcher beats at every turn of its loop, and every pass says
/// when it starts and ends. The loop is hung when the watcher has not beaten for <see cref="WatcherStallAfter"/> or a
/// pass has been running for more than <see cref="PassStallAfter"/>; the systemd watchdog is then no longer fed,
/// so systemd restarts the service.
/// </summary>
public sealed class LoopHealth(TimeProvider clock)
{
    private readonly ConcurrentDictionary<long, (string Path, DateTimeOffset Started)> _passes = new();
    private long _nextPass;
    private long _lastBeatTicks = clock.GetUtcNow().UtcTicks;

    /// <summary>How long the watcher may go without a beat. Default 2 minutes.</summary>
    public TimeSpan WatcherStallAfter { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long one pass may run. Default 15 minutes.</summary>
    public TimeSpan PassStallAfter { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Passes running now.</summary>
    public int PassesRunning => _passes.Count;

    public void Beat() => Interlocked.Exchange(ref _lastBeatTicks, clock.GetUtcNow().UtcTicks);

    /// <summary>Marks a pass as running until the returned handle is disposed.</summary>
    public IDisposable PassStarted(string path)
    {
        var id = Interlocked.Increment(ref _nextPass);
        _passes[id] = (path, clock.GetUtcNow());
        return new PassHandle(this, id);
    }

    /// <summary>
    /// <see cref="Problem()"/> for what the page, /healthz and the metrics report: a standby that does not hold the lock
    /// yet has no loop to be hung, and is healthy while it waits.
    /// </summary>
    public string? Problem(Hosting.ProjectsLock projectsLock) => projectsLock.Holds ? Problem() : null;

    /// <summary>Null when healthy, else what is hung.</summary>
    public string? Problem()
    {
        var now = clock.GetUtcNow();
        var beat = new DateTimeOffset(Interlocked.Read(ref _lastBeatTicks), TimeSpan.Zero);
        if (now - beat > WatcherStallAfter)
        {
            return $"the projects watcher has not run for {now - beat}";
        }

        foreach (var (path, started) in _passes.Values)
        {
            if (now - started > PassStallAfter)
            {
                return $"the pass of {path} has run for {now - started}";
            }
        }

        return null;
    }

    private sealed class PassHandle(LoopHealth health, long id) : IDisposable
    {
        public void Dispose() => health._passes.TryRemove(id, out _);
    }
}

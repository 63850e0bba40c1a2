using Batchkeeper.Daemon.Watching;
using Microsoft.Extensions.Hosting;

namespace Batchkeeper.Daemon.Systemd;

/// <summary>
/// Holds the host's start until the projects watcher's first scan is done. The systemd lifetime says READY=1 on
/// ApplicationStarted, which fires once every hosted service's StartAsync has returned, and the scan runs in the
/// watcher's ExecuteAsync: with this gate started after the watcher (services start one after the other), READY=1
/// still means "every workflow found at start is managed". A scan that hangs means no READY, and systemd's
/// TimeoutStartSec deals with it, as before. A stop request cancels the wait (the host links its start token to it).
/// </summary>
public sealed class FirstScanGate(ProjectsWatcher watcher) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => watcher.FirstScanDone.WaitAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

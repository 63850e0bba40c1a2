using Batchkeeper.Core.Logging;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Hosting;

/// <summary>
/// Says once, at start, what the daemon is about to do, and when it stops, that it is stopping and then that it has
/// stopped: a person tailing the log can tell a daemon that stopped (Ctrl-C, SIGTERM, a failure) from one that hangs.
/// "Stopping" is said as the stop begins (the host's ApplicationStopping), before any service stops; "stopped" once
/// every service has (ApplicationStopped), before the logger is flushed and disposed with the host.
/// </summary>
internal sealed class LifecycleLog(
    IOptions<BatchkeeperOptions> options, IHostApplicationLifetime lifetime, TimeProvider clock, ILogger<LifecycleLog> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var version = typeof(DaemonHost).Assembly.GetName().Version?.ToString(3) ?? "?";
        var started = clock.GetUtcNow();
        Log.Started(logger, version, o.Backend.ToString(), Path.GetFullPath(o.ProjectsDirectory), Readable.Duration(o.ReconcileInterval));
        var localJobs = o.Backend == BackendKind.Local ? "; running local jobs are stopped and recorded as interrupted" : "";
        // Registered for the host's lifetime, whose tokens go with it.
        lifetime.ApplicationStopping.Register(() => Log.Stopping(logger, Readable.Duration(o.ShutdownGrace), localJobs));
        lifetime.ApplicationStopped.Register(() => Log.Stopped(logger, Readable.Duration(clock.GetUtcNow() - started)));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Hosting;

/// <summary>Says once, at start, what the daemon is about to do.</summary>
internal sealed class StartupLog(IOptions<BatchkeeperOptions> options, ILogger<StartupLog> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var version = typeof(DaemonHost).Assembly.GetName().Version?.ToString(3) ?? "?";
        Log.Started(logger, version, o.Backend.ToString(), Path.GetFullPath(o.ProjectsDirectory), o.ReconcileInterval);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

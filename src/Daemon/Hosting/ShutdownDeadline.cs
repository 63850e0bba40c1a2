using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Hosting;

/// <summary>
/// Cancelled <see cref="BatchkeeperOptions.ShutdownGrace"/> after the daemon is asked to stop (SIGTERM, SIGINT):
/// the backend calls of the passes in flight get that long to finish, then they are cut short, so that every pass
/// still writes its snapshot and the daemon exits well within systemd's TimeoutStopSec, whatever the backend does
/// (a pass stuck in AWS retries would otherwise take 5 attempts × 30 s).
/// </summary>
public sealed class ShutdownDeadline : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly CancellationTokenRegistration _registration;

    public ShutdownDeadline(IHostApplicationLifetime lifetime, IOptions<BatchkeeperOptions> options)
    {
        var grace = options.Value.ShutdownGrace;
        _registration = lifetime.ApplicationStopping.Register(() => _source.CancelAfter(grace));
    }

    /// <summary>Cancelled once the grace after the stop request is over.</summary>
    public CancellationToken Token => _source.Token;

    public void Dispose()
    {
        _registration.Dispose();
        _source.Dispose();
    }
}

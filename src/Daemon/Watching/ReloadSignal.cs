using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Batchkeeper.Daemon.Watching;

/// <summary>
/// SIGHUP (<c>systemctl reload batchkeeper</c>, <c>kill -HUP</c>): rescan the projects folder and reconcile every
/// workflow now, without waiting for the schedule. Configuration is not reread; that takes a restart.
/// </summary>
public sealed class ReloadSignal(ProjectsWatcher watcher, ILogger<ReloadSignal> logger) : IHostedService, IDisposable
{
    private PosixSignalRegistration? _registration;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsWindows())
        {
            _registration = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                // Handled: the default action of SIGHUP would end the process.
                context.Cancel = true;
                Log.ReconcileAllRequested(logger);
                watcher.ReconcileAll();
            });
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _registration?.Dispose();
        _registration = null;
    }
}

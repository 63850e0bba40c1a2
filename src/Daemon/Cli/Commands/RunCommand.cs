using Batchkeeper.Daemon.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Batchkeeper.Daemon.Cli.Commands;

/// <summary><c>run</c> (the default): the daemon, until SIGTERM; configuration errors one line each and exit 2.</summary>
internal static class RunCommand
{
    /// <summary>What <c>run --help</c> says: what the daemon does, where its configuration comes from and where it logs.</summary>
    internal const string Description =
        "Run the daemon (the default): reconcile every workflow under the projects folder until Ctrl+C or SIGTERM.\n"
        + "Configuration: appsettings.json in the working directory (or in $DOTNET_CONTENTROOT), then environment variables\n"
        + "named like Batchkeeper__ReconcileInterval=00:00:10 or Batchkeeper__Backend=Aws (README: Settings and their bounds).\n"
        + "Logs: the console and logs/batchkeeper-YYYYMMDD.log (Batchkeeper:LogDirectory), kept 14 days. A local job's own\n"
        + "output goes to .batchkeeper/local/logs/<job id>.log: 'batchkeeper logs <workflow> --sample S' prints it.";

    internal static async Task<int> RunAsync(string? projects, bool standby, bool verbose, CancellationToken cancellationToken)
    {
        var overrides = new Dictionary<string, string?>();
        if (projects is not null)
        {
            overrides["Batchkeeper:ProjectsDirectory"] = projects;
        }

        if (standby)
        {
            overrides["Batchkeeper:Standby"] = "true";
        }

        if (verbose)
        {
            // The same as Serilog__MinimumLevel__Default=Debug: the Serilog section of the configuration, read last.
            overrides["Serilog:MinimumLevel:Default"] = "Debug";
        }

        IHost host;
        try
        {
            host = DaemonHost.Build([], overrides);
        }
        catch (ConfigurationException e)
        {
            return await ConfigurationErrorAsync(e.Problems);
        }

        using (host)
        {
            var services = DaemonHost.BackgroundServices(host);
            var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping; // RunAsync disposes the services
            try
            {
                await host.RunAsync(cancellationToken);
            }
            catch (ProjectsLockedException e)
            {
                // One line, at once: another daemon owns the folder. Not a usage error (2): the daemon could not run (1).
                await Console.Error.WriteLineAsync($"batchkeeper: {e.Message}");
                return ExitCodes.Failure;
            }
            catch (Microsoft.Extensions.Options.OptionsValidationException e)
            {
                return await ConfigurationErrorAsync(e.Failures.ToArray());
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested || stopping.IsCancellationRequested)
            {
                // Stopped while still starting (a standby waiting for the lock): a clean stop.
                return ExitCodes.Ok;
            }
            catch (Exception e)
            {
                // The host could not start or stop (the cause is in the log already): a failure, so systemd restarts it.
                await Console.Error.WriteLineAsync($"batchkeeper: the daemon stopped because something broke: {Core.Workflows.Quoted.Escape(e.Message)}");
                return ExitCodes.Failure;
            }

            // A background service that threw stops the host: that is the daemon's failure, not a clean stop.
            if (DaemonHost.Failed(services, out var what))
            {
                await Console.Error.WriteLineAsync($"batchkeeper: the daemon stopped because something broke: {what}");
                return ExitCodes.Failure;
            }
        }

        return ExitCodes.Ok;
    }

    internal static async Task<int> ConfigurationErrorAsync(IReadOnlyCollection<string> problems)
    {
        foreach (var problem in problems)
        {
            await Console.Error.WriteLineAsync($"batchkeeper: configuration: {problem}");
        }

        return ExitCodes.Usage;
    }
}

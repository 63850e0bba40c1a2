using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Reconciliation;
using Batchkeeper.Daemon.Aws;
using Batchkeeper.Daemon.Local;
using Batchkeeper.Daemon.Logging;
using Batchkeeper.Daemon.Outputs;
using Batchkeeper.Daemon.Reconciliation;
using Batchkeeper.Daemon.Scheduling;
using Batchkeeper.Daemon.Snapshots;
using Batchkeeper.Daemon.Systemd;
using Batchkeeper.Daemon.Watching;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Quartz;
using Serilog;

namespace Batchkeeper.Daemon.Hosting;

/// <summary>Builds the daemon's host: configuration, logging, the backend, the watcher and the Quartz schedule.</summary>
public static class DaemonHost
{
    /// <summary>
    /// The host for <c>batchkeeper run</c>. Configuration comes from <c>appsettings.json</c> in the working
    /// directory (or <c>DOTNET_CONTENTROOT</c>), then <c>Batchkeeper__…</c> environment variables, then <paramref name="overrides"/>.
    /// </summary>
    /// <param name="configureServices">Applied last: tests use it to give fixed credentials.</param>
    public static IHost Build(string[] args, IDictionary<string, string?>? overrides = null, bool console = true, Action<IServiceCollection>? configureServices = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = args,
            // appsettings.json is read from DOTNET_CONTENTROOT when set (the systemd unit: /etc/batchkeeper),
            // else from the working directory (the repository root for `dotnet run`).
            ContentRootPath = Environment.GetEnvironmentVariable("DOTNET_CONTENTROOT") is { Length: > 0 } root ? root : Directory.GetCurrentDirectory(),
            DisableDefaults = false,
        });
        if (overrides is not null)
        {
            builder.Configuration.AddInMemoryCollection(overrides);
        }

        BatchkeeperOptions settings;
        try
        {
            settings = builder.Configuration.GetSection(BatchkeeperOptions.Section).Get<BatchkeeperOptions>() ?? new BatchkeeperOptions();
        }
        catch (InvalidOperationException e)
        {
            // "Failed to convert configuration value '…' at 'Batchkeeper:ReconcileInterval' to type 'System.TimeSpan'."
            throw new ConfigurationException([ConversionProblem(builder.Configuration, e)]);
        }

        // Checked before the host exists, so that a bad setting is one line on stderr, not a host start-up failure.
        if (BatchkeeperOptionsValidator.Problems(settings) is { Count: > 0 } problems)
        {
            throw new ConfigurationException(problems);
        }

        var logger = LoggingSetup.Create(builder.Configuration, Path.GetFullPath(settings.LogDirectory), console);
        builder.Logging.ClearProviders();
        builder.Logging.AddSerilog(logger, dispose: true);

        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        builder.Services.AddBatchkeeper(settings.Backend, settings.PassConcurrency);
        configureServices?.Invoke(builder.Services);
        return builder.Build();
    }

    /// <summary>One line for a value the binder cannot convert: the setting, the value and the type expected.</summary>
    private static string ConversionProblem(ConfigurationManager configuration, InvalidOperationException e)
    {
        var match = System.Text.RegularExpressions.Regex.Match(e.Message, "at '(?<key>[^']+)' to type '(?<type>[^']+)'");
        if (!match.Success)
        {
            return $"{BatchkeeperOptions.Section}: {Batchkeeper.Core.Workflows.Quoted.Escape(e.Message)}";
        }

        var key = match.Groups["key"].Value;
        var type = match.Groups["type"].Value switch
        {
            "System.TimeSpan" => "a time span such as 00:00:30",
            "System.Int32" => "a whole number",
            "System.Double" => "a number",
            "System.Boolean" => "true or false",
            var other when other.EndsWith("BackendKind", StringComparison.Ordinal) => "Local or Aws",
            var other => other,
        };
        return $"{key}: '{Batchkeeper.Core.Workflows.Quoted.Name(configuration[key] ?? "")}' is not allowed: expected {type}";
    }

    /// <summary>The host's background services, to ask after it stopped (<see cref="Failed"/>): RunAsync disposes the host.</summary>
    public static BackgroundService[] BackgroundServices(IHost host) =>
        host.Services.GetServices<IHostedService>().OfType<BackgroundService>().ToArray();

    /// <summary>True when a background service ended with an exception: the daemon stops because something broke.</summary>
    public static bool Failed(IEnumerable<BackgroundService> services, out string? what)
    {
        foreach (var service in services)
        {
            if (service.ExecuteTask is { IsFaulted: true } task)
            {
                what = $"{service.GetType().Name}: {Batchkeeper.Core.Workflows.Quoted.Escape(task.Exception?.GetBaseException().Message ?? "failed")}";
                return true;
            }
        }

        what = null;
        return false;
    }
}

using Batchkeeper.Daemon.Logging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
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

        // The backend and the pass concurrency decide what is registered, so they are read before the host exists, but
        // through the same binding and validator the host uses (AddBatchkeeperOptions), so that a bad setting is one
        // line on stderr and exit 2, not a host start-up failure.
        BatchkeeperOptions settings;
        using (var probe = new ServiceCollection().AddSingleton<IConfiguration>(builder.Configuration).AddBatchkeeperOptions().BuildServiceProvider())
        {
            settings = BatchkeeperOptionsRegistration.Resolve(probe, builder.Configuration);
        }

        // Serilog through Serilog.Extensions.Hosting: the logger is built from the host's own validated options and
        // disposed (flushed) with the host. The static Log.Logger is left alone: tests run several hosts in one process.
        builder.Logging.ClearProviders();
        builder.Services.AddSerilog(
            (services, logger) => LoggingSetup.Configure(
                logger, builder.Configuration, Path.GetFullPath(services.GetRequiredService<IOptions<BatchkeeperOptions>>().Value.LogDirectory), console),
            preserveStaticLogger: true);

        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        builder.Services.AddBatchkeeper(settings.Backend, settings.PassConcurrency, notifications: settings.Notifications.Webhooks.Count > 0, web: settings.Web.Enabled);
        configureServices?.Invoke(builder.Services);
        return builder.Build();
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

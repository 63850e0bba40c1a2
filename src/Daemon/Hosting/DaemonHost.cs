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
        AddBatchkeeper(builder.Services, settings.Backend, settings.PassConcurrency);
        configureServices?.Invoke(builder.Services);
        return builder.Build();
    }

    /// <summary>Registers the daemon's services, with the backend named in the configuration.</summary>
    /// <param name="passConcurrency">Passes run at once (Quartz's thread pool): <see cref="BatchkeeperOptions.PassConcurrency"/>.</param>
    public static IServiceCollection AddBatchkeeper(IServiceCollection services, BackendKind backend, int passConcurrency = 16)
    {
        services.AddOptions<BatchkeeperOptions>().BindConfiguration(BatchkeeperOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BatchkeeperOptions>, BatchkeeperOptionsValidator>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<SystemdNotifier>();

        // First: nothing else starts before the projects root is this daemon's alone.
        services.AddSingleton<ProjectsLock>();
        services.AddHostedService(sp => sp.GetRequiredService<ProjectsLock>());
        services.AddHostedService<StartupLog>();
        services.AddSingleton<ShutdownDeadline>();

        services.AddSingleton<LocalOutputStore>();
        if (backend == BackendKind.Aws)
        {
            services.AddAwsBackend();
        }
        else
        {
            services.AddHostedService<StoppedJobsPasses>();
            services.AddSingleton<LocalJobBackend>();
            services.AddSingleton<IJobBackend>(sp => sp.GetRequiredService<LocalJobBackend>());
            services.AddHostedService(sp => sp.GetRequiredService<LocalJobBackend>());
            services.AddSingleton<IOutputStore>(sp => new RoutingOutputStore(sp.GetRequiredService<LocalOutputStore>()));
        }

        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<BatchkeeperOptions>>().Value;
            return new ReconcilerOptions
            {
                OutputGracePeriod = options.OutputGracePeriod,
                StuckRunnableAfter = options.StuckRunnableAfter,
                TerminateStuckJobs = options.TerminateStuckJobs,
                LostJobAfter = options.LostJobAfter,
                SubmitParallelism = options.SubmitParallelism,
            };
        });
        services.AddSingleton<WorkflowReconciler>();
        services.AddSingleton<DashboardWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<DashboardWriter>());
        services.AddSingleton<WorkflowPassRunner>();
        services.AddSingleton<WorkflowScheduler>();

        services.AddQuartz(q => q.UseDefaultThreadPool(tp => tp.MaxConcurrency = Math.Clamp(passConcurrency, 1, 256)));
        services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        services.AddTransient<ReconcileJob>();

        services.AddSingleton<ProjectsWatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<ProjectsWatcher>());
        services.AddHostedService<ReloadSignal>();

        services.AddSingleton(sp => new LoopHealth(sp.GetRequiredService<TimeProvider>())
        {
            PassStallAfter = sp.GetRequiredService<IOptions<BatchkeeperOptions>>().Value.PassStallAfter,
            WatcherStallAfter = Max(TimeSpan.FromMinutes(2), sp.GetRequiredService<IOptions<BatchkeeperOptions>>().Value.RescanInterval * 4),
        });
        services.AddHostedService<SystemdService>();
        services.AddHostedService<JobEventTrigger>();
        return services;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

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

    /// <summary>Says once, at start, what the daemon is about to do.</summary>
    private sealed class StartupLog(IOptions<BatchkeeperOptions> options, ILogger<StartupLog> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            var o = options.Value;
            var version = typeof(DaemonHost).Assembly.GetName().Version?.ToString(3) ?? "?";
            Batchkeeper.Daemon.Log.Started(logger, version, o.Backend.ToString(), Path.GetFullPath(o.ProjectsDirectory), o.ReconcileInterval);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

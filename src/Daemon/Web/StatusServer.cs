using System.Net;
using Batchkeeper.Daemon.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Web;

/// <summary>
/// Serves the status page, its JSON API, <c>/metrics</c> and <c>/healthz</c> from a Kestrel of its own, beside the
/// daemon's host (not instead of it): with <c>Web:Enabled=false</c> no web server exists at all, and nothing the page
/// does runs on the reconcile loop's threads or takes its locks for longer than a read of the registry.
/// It starts once the projects lock is settled (held, or waited for as a standby), so a daemon refused the lock never
/// takes the page's address. An address in use (another daemon's, on another projects folder, or the holder's while
/// this one stands by) is a warning, tried again every <see cref="RetryInterval"/>: the page must not keep the daemon
/// from reconciling.
/// </summary>
public sealed class StatusServer(
    IServiceProvider daemon,
    IOptions<BatchkeeperOptions> options,
    ProjectsLock projectsLock,
    TimeProvider clock,
    ILoggerFactory loggerFactory,
    ILogger<StatusServer> logger) : BackgroundService
{
    internal static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(10);

    private readonly TaskCompletionSource<Uri> _address = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The address the page is served at, once it is (with the port chosen when the setting said 0).</summary>
    public Task<Uri> Address => _address.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var web = options.Value.Web;
        try
        {
            await projectsLock.Settled.WaitAsync(stoppingToken);
        }
        catch (Exception e) when (e is ProjectsLockedException or IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            return; // refused the lock: the host is failing already, saying why (or it is stopping)
        }

        var warned = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            var app = Build(web);
            try
            {
                await app.StartAsync(stoppingToken);
            }
            catch (Exception e) when (IsAddressInUse(e))
            {
                await app.DisposeAsync();
                if (!warned)
                {
                    warned = true;
                    Log.StatusPageAddressInUse(logger, web.Url, Core.Logging.Readable.Duration(RetryInterval));
                }

                try
                {
                    await Task.Delay(RetryInterval, clock, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }
            catch (OperationCanceledException)
            {
                await app.DisposeAsync();
                return;
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
            {
                // Any other reason it cannot listen (a port under 1024 without the capability, an address this machine
                // does not have): said once, and the daemon goes on reconciling without its page.
                await app.DisposeAsync();
                Log.StatusPageNotServed(logger, web.Url, Core.Workflows.Quoted.Escape((e.InnerException ?? e).Message));
                return;
            }

            await using (app)
            {
                var address = Served(app, web);
                _address.TrySetResult(address);
                if (web.IsLoopback)
                {
                    Log.StatusPageServed(logger, address.ToString());
                }
                else
                {
                    Log.StatusPageExposed(logger, address.ToString());
                }

                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, clock, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    // The daemon is stopping.
                }

                await app.StopAsync(CancellationToken.None);
            }

            return;
        }
    }

    private WebApplication Build(WebOptions web)
    {
        // The empty builder: no appsettings, no ASPNETCORE_* variables, no hosting lifetime of its own; only what is
        // added here. Its lines go to the daemon's logger factory (Serilog), under Microsoft.AspNetCore.* categories.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = typeof(StatusServer).Assembly.GetName().Name });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 0; // read-only: no request has a body worth reading
            kestrel.Listen(web.EndPoint);
        });
        builder.Services.AddRoutingCore();
        // No lifetime of its own: the builder's default (ConsoleLifetime) takes SIGINT and SIGTERM for the web app, so
        // Ctrl-C stopped the page and not the daemon. The daemon's host alone hears signals and stops this server.
        builder.Services.AddSingleton<IHostLifetime, DaemonOwnedLifetime>();
        // Its lines go to the daemon's loggers, but not the web host's own "Hosting failed to start" with a stack,
        // every 10 s while the address is in use: this class says that in one line.
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new ForwardingLoggerProvider(loggerFactory));
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        var app = builder.Build();
        app.Use(WebSecurity.Middleware(web));
        app.UseRouting();
        StatusEndpoints.Map(app, daemon);
        return app;
    }

    private static Uri Served(WebApplication app, WebOptions web)
    {
        var bound = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        if (bound is not null && Uri.TryCreate(bound.Replace("://[::]:", "://127.0.0.1:", StringComparison.Ordinal), UriKind.Absolute, out var uri))
        {
            return uri;
        }

        return new Uri($"http://{web.EndPoint}/");
    }

    private sealed class DaemonOwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class ForwardingLoggerProvider(ILoggerFactory daemon) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => daemon.CreateLogger(categoryName);

        public void Dispose()
        {
            // The daemon's factory is the daemon's to dispose.
        }
    }

    private static bool IsAddressInUse(Exception e) =>
        e is AddressInUseException || e.InnerException is AddressInUseException
        || (e is IOException && e.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse });
}

using System.CommandLine;
using Batchkeeper.Daemon.Hosting;
using Microsoft.Extensions.Hosting;

namespace Batchkeeper.Daemon;

/// <summary>The <c>batchkeeper</c> executable.</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = new RootCommand("Batchkeeper keeps per-sample batch jobs converged on AWS Batch or the local machine.");
        var run = new Command("run", "Run the daemon (the default).");
        run.SetAction(async (_, cancellationToken) => await RunDaemonAsync(cancellationToken));
        root.Subcommands.Add(run);
        root.SetAction(async (_, cancellationToken) => await RunDaemonAsync(cancellationToken));
        return await root.Parse(args).InvokeAsync();
    }

    private static async Task<int> RunDaemonAsync(CancellationToken cancellationToken)
    {
        using var host = DaemonHost.Build([]);
        await host.RunAsync(cancellationToken);
        return 0;
    }
}

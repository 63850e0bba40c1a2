using Batchkeeper.Core.Reconciliation;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Tests.Hosting;

/// <summary>Every reconciler option comes from the configuration (they were copied by hand, two of them not at all) and is validated.</summary>
public sealed class ReconcilerOptionsBindingTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private IHost Build(Dictionary<string, string?> settings)
    {
        settings["Batchkeeper:ProjectsDirectory"] = _folder.Combine("projects");
        settings["Batchkeeper:LogDirectory"] = _folder.Combine("logs");
        settings["Batchkeeper:Local:WorkDirectory"] = _folder.Combine("work");
        return DaemonHost.Build([], settings, console: false);
    }

    [Fact]
    public void EveryReconcilerOption_IsBoundFromTheConfiguration()
    {
        using var host = Build(new()
        {
            ["Batchkeeper:OutputGracePeriod"] = "00:00:07",
            ["Batchkeeper:StuckRunnableAfter"] = "00:05:00",
            ["Batchkeeper:TerminateStuckJobs"] = "true",
            ["Batchkeeper:LostJobAfter"] = "00:03:00",
            ["Batchkeeper:SubmitParallelism"] = "9",
        });

        var options = host.Services.GetRequiredService<ReconcilerOptions>();

        Assert.Equal(
            (TimeSpan.FromSeconds(7), TimeSpan.FromMinutes(5), true, TimeSpan.FromMinutes(3), 9),
            (options.OutputGracePeriod, options.StuckRunnableAfter, options.TerminateStuckJobs, options.LostJobAfter, options.SubmitParallelism));
    }

    [Fact]
    public void InvalidReconcilerOptions_AreAllReportedAtStartUp_ByName()
    {
        // Bound and validated once, through AddBatchkeeperOptions, before the host exists: one line per problem.
        var error = Assert.Throws<ConfigurationException>(() => Build(new()
        {
            ["Batchkeeper:LostJobAfter"] = "00:00:00",
            ["Batchkeeper:SubmitParallelism"] = "0",
            ["Batchkeeper:ShutdownGrace"] = "00:05:00",
            ["Batchkeeper:OutputGracePeriod"] = "-00:00:01",
            ["Batchkeeper:StuckRunnableAfter"] = "-00:00:01",
        }));

        foreach (var name in new[] { "LostJobAfter", "SubmitParallelism", "ShutdownGrace", "OutputGracePeriod", "StuckRunnableAfter" })
        {
            Assert.Contains(error.Problems, f => f.StartsWith($"Batchkeeper:{name}: ", StringComparison.Ordinal) && f.Contains("is not allowed: expected", StringComparison.Ordinal));
        }
    }
}

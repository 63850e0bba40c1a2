using Batchkeeper.Core.Logging;
using Batchkeeper.Daemon.Logging;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Batchkeeper.Daemon.Tests.Logging;

/// <summary>The pass and slot scopes, through the daemon's real Serilog pipeline and file sink.</summary>
public sealed partial class LogScopeTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task LinesInsideAScope_EndWithWhereTheyAreFrom_InnermostFirst_AndLinesOutsideWithNothing()
    {
        var logs = _folder.Combine("logs");
        using (var serilog = LoggingSetup.Create(new ConfigurationBuilder().Build(), logs, console: false))
        using (var factory = new Serilog.Extensions.Logging.SerilogLoggerFactory(serilog))
        {
            var logger = factory.CreateLogger("test");
            Say(logger, "Outside.");
            using (LogScopes.Workflow(logger, "study", "wf.json"))
            {
                Say(logger, "In the pass.");
                await Task.Run(() =>
                {
                    using (LogScopes.Slot(logger, "study", "wf.json", "s1", "align", "job-7"))
                    {
                        Say(logger, "In the slot.");
                    }
                });
                Say(logger, "Back in the pass.");
            }
        }

        var lines = File.ReadAllLines(Assert.Single(Directory.GetFiles(logs)));
        Assert.EndsWith("[INF] Outside.", lines[0]);
        Assert.EndsWith("[INF] In the pass. [study/wf.json]", lines[1]);
        Assert.EndsWith("[INF] In the slot. [study/wf.json sample s1 analysis align job job-7]", lines[2]);
        Assert.EndsWith("[INF] Back in the pass. [study/wf.json]", lines[3]);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Text}")]
    private static partial void Say(ILogger logger, string text);
}

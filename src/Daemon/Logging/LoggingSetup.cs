using Microsoft.Extensions.Configuration;
using Serilog;
using Serilog.Events;

namespace Batchkeeper.Daemon.Logging;

/// <summary>Serilog: one line per event to the console and to a daily rolling file kept 14 days.</summary>
public static class LoggingSetup
{
    public const string FileTemplate = "{Timestamp:yyyy-MM-dd HH:mm:ss.fff zzz} [{Level:u3}] {Message:lj}{NewLine}{Exception}";
    public const string ConsoleTemplate = "{Timestamp:HH:mm:ss} [{Level:u3}] {Message:lj}{NewLine}{Exception}";

    /// <summary>Builds the logger from the <c>Serilog</c> section (minimum level and overrides) and the log directory.</summary>
    public static Serilog.Core.Logger Create(IConfiguration configuration, string logDirectory, bool console = true)
    {
        var config = new LoggerConfiguration()
            .MinimumLevel.Information()
            .MinimumLevel.Override("Quartz", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("System.Net.Http", LogEventLevel.Warning)
            .ReadFrom.Configuration(configuration)
            .Enrich.FromLogContext()
            .WriteTo.File(
                Path.Combine(logDirectory, "batchkeeper-.log"),
                outputTemplate: FileTemplate,
                rollingInterval: RollingInterval.Day,
                retainedFileCountLimit: 14,
                shared: true,
                flushToDiskInterval: TimeSpan.FromSeconds(1),
                formatProvider: System.Globalization.CultureInfo.InvariantCulture);
        if (console)
        {
            config = config.WriteTo.Console(outputTemplate: ConsoleTemplate, formatProvider: System.Globalization.CultureInfo.InvariantCulture);
        }

        return config.CreateLogger();
    }
}

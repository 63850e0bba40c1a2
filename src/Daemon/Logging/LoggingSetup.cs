using Microsoft.Extensions.Configuration;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Batchkeeper.Daemon.Logging;

/// <summary>
/// Serilog: one line per event to the console and to a daily rolling file kept 14 days. Under systemd
/// (<c>JOURNAL_STREAM</c> set) console lines start with the syslog level (<c>&lt;6&gt;</c> info, <c>&lt;4&gt;</c> warning,
/// <c>&lt;3&gt;</c> error) and carry no timestamp of their own, so journald files them right; the file is unchanged.
/// </summary>
public static class LoggingSetup
{
    // {Message:l}, not :lj: the file sink renders a message's non-string values as JSON under "j" ("00:00:30", "Done" in
    // quotes) where the console sink does not, so one line read differently in the two places.
    public const string FileTemplate = "{Timestamp:yyyy-MM-dd HH:mm:ss.fff zzz} [{Level:u3}] {Message:l}{Where:l}{NewLine}{Exception}";
    public const string ConsoleTemplate = "{Timestamp:HH:mm:ss} [{Level:u3}] {Message:l}{Where:l}{NewLine}{Exception}";
    public const string JournalTemplate = "<{SyslogLevel}>{Message:l}{Where:l}{NewLine}{Exception}";

    /// <summary>Builds the logger from the <c>Serilog</c> section (minimum level and overrides) and the log directory.</summary>
    public static Logger Create(IConfiguration configuration, string logDirectory, bool console = true, bool? journal = null) =>
        Configure(new LoggerConfiguration(), configuration, logDirectory, console, journal).CreateLogger();

    /// <summary>
    /// Configures <paramref name="config"/> (the host's, through Serilog.Extensions.Hosting' AddSerilog). AddSystemd()
    /// sets M.E.Logging's console formatter to "systemd", which does not apply here: the providers are cleared and
    /// Serilog writes the console, keyed on <c>JOURNAL_STREAM</c> to <see cref="JournalTemplate"/>.
    /// </summary>
    public static LoggerConfiguration Configure(LoggerConfiguration config, IConfiguration configuration, string logDirectory, bool console = true, bool? journal = null)
    {
        var underJournal = journal ?? !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("JOURNAL_STREAM"));
        config = config
            .MinimumLevel.Information()
            .MinimumLevel.Override("Quartz", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("System.Net.Http", LogEventLevel.Warning)
            // Polly logs each retry of the resilience pipelines at Warning; the AWS clients log their own retry line.
            .MinimumLevel.Override("Polly", LogEventLevel.Error)
            .ReadFrom.Configuration(configuration)
            // A daemon refused the projects lock says so in one line on stderr (RunCommand); the host's own "Hosting
            // failed to start" with the exception's stack would only bury that line.
            .Filter.ByExcluding(e => e.Exception is Hosting.ProjectsLockedException)
            .Enrich.FromLogContext()
            .Enrich.With<SyslogLevelEnricher>()
            .Enrich.With<ControlCharacterEscaper>()
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
            // Colours only on a terminal: the sink leaves redirected output (files, pipes, journald) plain by itself;
            // NO_COLOR (no-color.org) turns them off on a terminal too.
            var plain = underJournal || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));
            config = config.WriteTo.Console(
                outputTemplate: underJournal ? JournalTemplate : ConsoleTemplate,
                formatProvider: System.Globalization.CultureInfo.InvariantCulture,
                theme: plain ? Serilog.Sinks.SystemConsole.Themes.ConsoleTheme.None : null);
        }

        return config;
    }

    /// <summary>
    /// Every string value of an event with its control characters escaped (<c>\n</c>, <c>\u0000</c>): a value read from a
    /// file (a metadata value in a command, a file name) can never start a log line of its own. Exceptions keep their
    /// stack traces, which the templates put after the message.
    /// </summary>
    internal sealed class ControlCharacterEscaper : ILogEventEnricher
    {
        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
        {
            foreach (var (name, value) in logEvent.Properties.ToArray())
            {
                if (value is ScalarValue { Value: string text } && text.Any(Batchkeeper.Core.Workflows.Quoted.IsUnsafe))
                {
                    logEvent.AddOrUpdateProperty(new LogEventProperty(name, new ScalarValue(Batchkeeper.Core.Workflows.Quoted.Escape(text))));
                }
            }
        }
    }

    /// <summary>Adds <c>SyslogLevel</c>: the sd-daemon(3) priority of the event's level.</summary>
    internal sealed class SyslogLevelEnricher : ILogEventEnricher
    {
        private static readonly LogEventProperty[] Levels =
        [
            new("SyslogLevel", new ScalarValue(7)), // Verbose: debug
            new("SyslogLevel", new ScalarValue(7)), // Debug
            new("SyslogLevel", new ScalarValue(6)), // Information: info
            new("SyslogLevel", new ScalarValue(4)), // Warning
            new("SyslogLevel", new ScalarValue(3)), // Error: err
            new("SyslogLevel", new ScalarValue(2)), // Fatal: crit
        ];

        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory) =>
            logEvent.AddPropertyIfAbsent(Levels[(int)logEvent.Level]);
    }
}

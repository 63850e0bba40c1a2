using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Batchkeeper.BatchEmulator;

/// <summary>
/// <c>dotnet run --project tests/BatchEmulator -- --port 0 [options]</c>: prints one line
/// <c>listening on http://127.0.0.1:PORT</c> on stdout (logs go to stderr), then with <c>--events-queue</c> a second
/// one, <c>events queue http://127.0.0.1:PORT/ACCOUNT/NAME</c>, and runs until SIGTERM or Ctrl-C.
/// </summary>
internal static class Program
{
    private const string Usage = """
        usage: Batchkeeper.BatchEmulator [--port N] [--s3-url URL] [--strict]
                                         [--queue NAME]... [--job-definition NAME[:REV]]...
                                         [--state-ms N] [--run-ms N] [--visibility-delay-ms N]
                                         [--max-running N] [--seed N] [--verbose]
                                         [--events-queue NAME [--events-job-queue NAME]... [--events-name-prefix PREFIX]]
        """;

    public static async Task<int> Main(string[] args)
    {
        BatchEmulatorOptions options;
        var verbose = false;
        try
        {
            (options, verbose) = Parse(args);
        }
        catch (FormatException e)
        {
            await Console.Error.WriteLineAsync($"{e.Message}\n{Usage}").ConfigureAwait(false);
            return 2;
        }

        options.ConfigureLogging = logging => logging
            .AddSimpleConsole(c => { c.SingleLine = true; c.TimestampFormat = "HH:mm:ss.fff "; })
            .AddFilter((category, level) => level >= (verbose ? LogLevel.Debug : LogLevel.Information) &&
                                            (verbose || !category!.StartsWith("Microsoft", StringComparison.Ordinal) || level >= LogLevel.Warning));
        options.ConfigureLogging += logging => logging.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(
            c => c.LogToStandardErrorThreshold = LogLevel.Trace);

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.TrySetResult();
        }

        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);

        BatchEmulator emulator;
        try
        {
            emulator = await BatchEmulator.StartAsync(options).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"{e.Message}\n{Usage}").ConfigureAwait(false);
            return 2;
        }

        await using (emulator.ConfigureAwait(false))
        {
            await Console.Out.WriteLineAsync($"listening on {emulator.BaseAddress.GetLeftPart(UriPartial.Authority)}").ConfigureAwait(false);
            if (emulator.EventsQueueUrl is { } queueUrl)
            {
                await Console.Out.WriteLineAsync($"events queue {queueUrl}").ConfigureAwait(false);
            }

            await Console.Out.FlushAsync().ConfigureAwait(false);
            await stop.Task.ConfigureAwait(false);
        }

        return 0;
    }

    private static (BatchEmulatorOptions Options, bool Verbose) Parse(string[] args)
    {
        var options = new BatchEmulatorOptions();
        var verbose = false;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value.");
            int Number() => int.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0
                ? n
                : throw new FormatException($"{args[i - 1]} takes a non-negative integer (got {args[i]}).");

            switch (args[i])
            {
                case "--port": options.Port = Number(); break;
                case "--s3-url": options.S3ServiceUrl = new Uri(Value(), UriKind.Absolute); break;
                case "--strict": options.Strict = true; break;
                case "--queue": options.JobQueues.Add(new JobQueueOptions { Name = Value() }); break;
                case "--job-definition":
                    var reference = Value().Split(':');
                    options.JobDefinitions.Add(new JobDefinitionOptions
                    {
                        Name = reference[0],
                        Revision = reference.Length > 1 && int.TryParse(reference[1], CultureInfo.InvariantCulture, out var revision) ? revision : 1,
                    });
                    break;
                case "--state-ms":
                    var state = TimeSpan.FromMilliseconds(Number());
                    options.SubmittedDuration = options.PendingDuration = options.RunnableDuration = options.StartingDuration = state;
                    break;
                case "--run-ms": options.RunDuration = TimeSpan.FromMilliseconds(Number()); break;
                case "--visibility-delay-ms": options.DescribeVisibilityDelay = TimeSpan.FromMilliseconds(Number()); break;
                case "--max-running": options.MaxRunningJobs = Number(); break;
                case "--seed": options.Faults = new FaultSettings { Seed = Number() }; break;
                case "--events-queue": options.EventsQueue = Value(); break;
                case "--events-job-queue": options.EventRule.JobQueues.Add(Value()); break;
                case "--events-name-prefix": options.EventRule.JobNamePrefix = Value(); break;
                case "--verbose": verbose = true; break;
                case "-h" or "--help": throw new FormatException("Batch API emulator.");
                default: throw new FormatException($"Unknown argument {args[i]}.");
            }
        }

        if (options.EventsQueue is null && (options.EventRule.JobQueues.Count > 0 || options.EventRule.JobNamePrefix is not null))
        {
            throw new FormatException("--events-job-queue and --events-name-prefix need --events-queue.");
        }

        return (options, verbose);
    }
}

using Microsoft.Extensions.Logging;

namespace Batchkeeper.BatchEmulator;

/// <summary>Every log line of the emulator.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Batch emulator listening on {BaseAddress}.")]
    public static partial void Listening(ILogger logger, Uri baseAddress);

    [LoggerMessage(2, LogLevel.Debug, "Job {JobId} ({JobName}) submitted to {JobQueue}.")]
    public static partial void JobSubmitted(ILogger logger, string jobId, string jobName, string jobQueue);

    [LoggerMessage(3, LogLevel.Debug, "Job {JobId} ({JobName}) moved from {From} to {To}.")]
    public static partial void JobMoved(ILogger logger, string jobId, string jobName, string from, string to);

    [LoggerMessage(4, LogLevel.Debug, "Job {JobId} wrote output {Uri}.")]
    public static partial void OutputWritten(ILogger logger, string jobId, string uri);

    [LoggerMessage(5, LogLevel.Warning, "Job {JobId} could not write output {Uri}; the attempt fails.")]
    public static partial void OutputFailed(ILogger logger, string jobId, string uri, Exception exception);

    [LoggerMessage(6, LogLevel.Error, "The state machine's tick failed.")]
    public static partial void TickFailed(ILogger logger, Exception exception);

    [LoggerMessage(7, LogLevel.Debug, "{Operation} answered {StatusCode}{Fault}.")]
    public static partial void Answered(ILogger logger, string operation, int statusCode, string fault);

    [LoggerMessage(8, LogLevel.Error, "{Operation} failed inside the emulator.")]
    public static partial void HandlerFailed(ILogger logger, string operation, Exception exception);
}

using System.Text;
using Batchkeeper.Core.Workflows;
using Batchkeeper.Daemon.Aws;
using Batchkeeper.Daemon.Files;
using Batchkeeper.Daemon.Local;

namespace Batchkeeper.Daemon.JobLogs;

/// <summary>The end of a job's log: at most the bytes asked for, starting at a whole line.</summary>
/// <param name="Text">The lines read, as UTF-8 text.</param>
/// <param name="Truncated">Older lines were left out to keep within the limit.</param>
/// <param name="Bytes">The whole log's size, where it is known (a local file).</param>
internal sealed record LogTail(string Text, bool Truncated, long? Bytes);

/// <summary>
/// Reads job logs, for <c>batchkeeper logs</c> and the status page: a local job's log file from a position on (what
/// <c>logs --follow</c> prints as it grows), or the end of it; the end of a CloudWatch Logs stream (the page shows the
/// last lines, as <c>tail</c> does; <c>logs</c> reads every page forward with <see cref="CloudWatchLogsClient.ReadPagesAsync"/>).
/// </summary>
internal static class JobLogReader
{
    /// <summary>Events asked for per GetLogEvents page when reading backwards from the end of a stream.</summary>
    internal const int TailPageEvents = 1_000;

    /// <summary>At most this many GetLogEvents calls for one tail: the service may hand back empty pages before the events.</summary>
    internal const int TailMaxPages = 10;

    /// <summary>What the file holds from <paramref name="position"/> on, and the position to read on from next time.</summary>
    /// <param name="logFolder">The local backend's log folder (<see cref="LocalJobStore.LogFolder"/>): the file must be in it.</param>
    /// <exception cref="FileNotFoundException">The file is gone (or its folder: <see cref="DirectoryNotFoundException"/>).</exception>
    /// <exception cref="InputException">The file is not one of the local backend's log files, or not a regular file.</exception>
    public static async Task<(string Text, long Position)> ReadFileFromAsync(string path, string logFolder, long position, CancellationToken cancellationToken)
    {
        await using var file = Open(path, logFolder);
        file.Position = position;
        using var reader = new StreamReader(file);
        var text = await reader.ReadToEndAsync(cancellationToken);
        return (text, file.Position);
    }

    /// <summary>The last <paramref name="maxBytes"/> of the file at most, from the first whole line in them.</summary>
    /// <param name="logFolder">The local backend's log folder (<see cref="LocalJobStore.LogFolder"/>): the file must be in it.</param>
    /// <exception cref="FileNotFoundException">The file is gone (or its folder: <see cref="DirectoryNotFoundException"/>).</exception>
    /// <exception cref="InputException">The file is not one of the local backend's log files, or not a regular file.</exception>
    public static async Task<LogTail> ReadFileTailAsync(string path, string logFolder, int maxBytes, CancellationToken cancellationToken)
    {
        await using var file = Open(path, logFolder);
        var length = file.Length;
        var start = Math.Max(0, length - maxBytes);
        file.Position = start;
        var buffer = new byte[length - start];
        var read = await file.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
        var from = 0;
        if (start > 0 && Array.IndexOf(buffer, (byte)'\n', 0, read) is >= 0 and var newline)
        {
            from = newline + 1; // the cut line's end only would read as a line of its own
        }

        return new LogTail(Encoding.UTF8.GetString(buffer, from, read - from), start > 0, length);
    }

    /// <summary>
    /// The last lines of a CloudWatch Logs stream, at most <paramref name="maxBytes"/> of them (UTF-8, a line break
    /// after each event): GetLogEvents from the end (<c>startFromHead</c> false), then backwards with
    /// <c>nextBackwardToken</c> until enough is read or the service hands back the token it was given (the start).
    /// </summary>
    /// <exception cref="CloudWatchLogsException">The service answered with an error, e.g. <c>ResourceNotFoundException</c>.</exception>
    public static async Task<LogTail> ReadCloudWatchTailAsync(CloudWatchLogsClient client, string logGroup, string logStream, int maxBytes, CancellationToken cancellationToken)
    {
        var newestFirst = new List<string>();
        long bytes = 0;
        var full = false;
        var atStart = false;
        string? token = null;
        for (var page = 0; page < TailMaxPages && !full && !atStart; page++)
        {
            var answer = await client.GetLogEventsAsync(
                new GetLogEventsRequest { LogGroupName = logGroup, LogStreamName = logStream, NextToken = token, StartFromHead = token is null ? false : null, Limit = TailPageEvents },
                cancellationToken);
            for (var i = answer.Events.Count - 1; i >= 0 && !full; i--)
            {
                var line = answer.Events[i].Message ?? "";
                var size = Encoding.UTF8.GetByteCount(line) + 1;
                full = bytes + size > maxBytes;
                if (!full)
                {
                    newestFirst.Add(line);
                    bytes += size;
                }
            }

            // The service hands back the token it was given once there is nothing older.
            atStart = answer.NextBackwardToken is null || answer.NextBackwardToken == token;
            token = answer.NextBackwardToken;
        }

        newestFirst.Reverse();
        var text = new StringBuilder((int)bytes);
        foreach (var line in newestFirst)
        {
            text.Append(line).Append('\n');
        }

        return new LogTail(text.ToString(), !atStart, null); // the limit, or the pages read, left older lines out
    }

    /// <summary>
    /// A local job's log file, by the daemon's one rule for files (<see cref="ProjectFile"/>): in the log folder, reached
    /// through no link out of it, and a regular file (a FIFO would block the reader until a writer came). A snapshot
    /// names the file, and a snapshot edited by hand must not turn the page or <c>logs</c> into a reader of any file.
    /// </summary>
    private static FileStream Open(string path, string logFolder)
    {
        var folder = Path.TrimEndingDirectorySeparator(Path.GetFullPath(logFolder));
        if (!Path.GetFullPath(path).StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new InputException([new InputError(path, "", $"is not in the local backend's log folder {folder} (Batchkeeper:Local:WorkDirectory/logs); only its log files are read")]);
        }

        return ProjectFile.OpenRead(path, folder, path, "the local backend's log folder");
    }
}

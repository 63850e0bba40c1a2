namespace Batchkeeper.Daemon.Tests.Infrastructure;

/// <summary>Reads the daemon's rolling log files while the daemon may still be writing them.</summary>
public static class LogFiles
{
    public static string Read(string logDirectory)
    {
        if (!Directory.Exists(logDirectory))
        {
            return "";
        }

        return string.Concat(Directory.GetFiles(logDirectory, "batchkeeper-*.log").Order(StringComparer.Ordinal).Select(path =>
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }));
    }

    /// <summary>
    /// True when one line of <paramref name="log"/> holds every one of <paramref name="parts"/>: a message and the
    /// <c>[project/file.json sample … analysis …]</c> its scope adds, which name the workflow and slot of the line.
    /// </summary>
    public static bool HasLine(string log, params string[] parts) =>
        log.Split('\n').Any(line => parts.All(part => line.Contains(part, StringComparison.Ordinal)));

    /// <summary>The lines of <paramref name="log"/> that hold every one of <paramref name="parts"/>.</summary>
    public static int CountLines(string log, params string[] parts) =>
        log.Split('\n').Count(line => parts.All(part => line.Contains(part, StringComparison.Ordinal)));
}

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
}

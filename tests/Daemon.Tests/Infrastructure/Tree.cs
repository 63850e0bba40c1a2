namespace Batchkeeper.Daemon.Tests.Infrastructure;

/// <summary>Folders removed as a user removes them while the daemon runs.</summary>
public static class Tree
{
    /// <summary>
    /// One <c>rm -rf</c>: true once the folder is gone, false when a file appeared in it during the removal
    /// (the daemon writing a snapshot's or the dashboard's temp file meanwhile makes it fail with "Directory not empty").
    /// Wait on it with <see cref="Eventually"/>: the next try takes the new file.
    /// </summary>
    public static bool TryRemove(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException) when (Directory.Exists(folder))
        {
            return false;
        }
        catch (DirectoryNotFoundException)
        {
        }

        return !Directory.Exists(folder);
    }
}

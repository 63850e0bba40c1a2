namespace Batchkeeper.Daemon.Snapshots;

/// <summary>
/// Replaces a file so that readers see either the old or the new content, never a part:
/// write <c>.&lt;name&gt;.&lt;guid&gt;.tmp</c> in the same folder, flush it to disk, rename it over the target.
/// The temp file is hidden and ends in <c>.tmp</c>, so the projects watcher ignores it.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/> atomically.</summary>
    public static Task WriteAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default) =>
        WriteAsync(path, (stream, ct) => stream.WriteAsync(content, ct).AsTask(), cancellationToken);

    /// <summary>
    /// Writes what <paramref name="write"/> puts into the stream to <paramref name="path"/> atomically: content can be
    /// serialized straight to disk instead of into one large buffer first.
    /// </summary>
    public static async Task WriteAsync(string path, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        var temp = TempPathFor(path);
        try
        {
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 65536, FileOptions.Asynchronous))
            {
                await write(stream, cancellationToken);
                await stream.FlushAsync(cancellationToken);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            DeleteQuietly(temp);
        }
    }

    /// <summary>The synchronous form, for callers that hold a lock.</summary>
    public static void Write(string path, ReadOnlySpan<byte> content)
    {
        var temp = TempPathFor(path);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            DeleteQuietly(temp);
        }
    }

    private static string TempPathFor(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        return Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
    }

    /// <summary>
    /// Deletes the temp files of writes to <paramref name="path"/> that never finished: a process killed between
    /// creating one and renaming it leaves it behind, as large as the file. Only for a caller that knows no write to
    /// <paramref name="path"/> is in progress (the daemon, before its first write of that file).
    /// </summary>
    /// <returns>How many were deleted.</returns>
    public static int DeleteLeftovers(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var prefix = $".{Path.GetFileName(path)}.";
        var deleted = 0;
        try
        {
            foreach (var temp in Directory.EnumerateFiles(directory, prefix + "*.tmp"))
            {
                // Exactly the names TempPathFor gives: the prefix, 32 hex digits, ".tmp".
                var middle = Path.GetFileName(temp)[prefix.Length..^4];
                if (middle.Length == 32 && middle.All(char.IsAsciiHexDigitLower))
                {
                    File.Delete(temp);
                    deleted++;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort, as for a single temp file: a read-only or vanished folder keeps its leftovers.
        }

        return deleted;
    }

    private static void DeleteQuietly(string temp)
    {
        try
        {
            File.Delete(temp);
        }
        catch (IOException)
        {
            // Best effort: a leftover hidden .tmp file is ignored by the watcher.
        }
    }
}

using System.Runtime.InteropServices;

namespace Batchkeeper.Daemon.Snapshots;

/// <summary>
/// Replaces a file so that readers see either the old or the new content, never a part:
/// write <c>.&lt;name&gt;.&lt;guid&gt;.tmp</c> in the same folder, flush it to disk, rename it over the target, then
/// flush the folder to disk, so that a power cut after the write returns cannot bring back the old file (or none).
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
            SyncFolder(path);
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
            SyncFolder(path);
        }
        finally
        {
            DeleteQuietly(temp);
        }
    }

    /// <summary>
    /// fsync of the folder holding <paramref name="path"/>: the rename is durable only once the folder's entry is.
    /// .NET cannot open a folder as a file (it refuses with UnauthorizedAccessException), hence libc's open and fsync.
    /// A file system that cannot sync a folder (EINVAL, as some FUSE and network ones) is left as it is.
    /// </summary>
    internal static void SyncFolder(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var fd = NativeMethods.open(directory, NativeMethods.ORdOnly | NativeMethods.ODirectory | NativeMethods.OCloExec);
        if (fd < 0)
        {
            return;
        }

        try
        {
            if (NativeMethods.fsync(fd) != 0 && Marshal.GetLastPInvokeError() is not (NativeMethods.EInval or NativeMethods.ENotSup))
            {
                throw new IOException($"fsync of the folder {directory} failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
        finally
        {
            _ = NativeMethods.close(fd);
        }
    }

    private static class NativeMethods
    {
        // Linux's values (x86-64 and arm64 share them).
        public const int ORdOnly = 0;
        public const int ODirectory = 0x10000;
        public const int OCloExec = 0x80000;
        public const int EInval = 22;
        public const int ENotSup = 95;

#pragma warning disable SYSLIB1054, CA2101 // LibraryImport would need unsafe code; the path is passed as UTF-8 bytes.
        [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int close(int fd);
#pragma warning restore SYSLIB1054, CA2101
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

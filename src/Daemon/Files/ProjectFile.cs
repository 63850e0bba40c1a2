using System.Diagnostics;
using System.Runtime.InteropServices;
using Batchkeeper.Core.Workflows;
using Microsoft.Win32.SafeHandles;

namespace Batchkeeper.Daemon.Files;

/// <summary>
/// The one rule for every file the daemon reads (workflows, metadata, retry requests, snapshots, local job records):
/// a regular file, reached without leaving its root through any link; FIFOs, devices, sockets and folders refused
/// with a message that names the file only; at most <c>maxBytes</c>, counted on the bytes actually read (a device
/// reports a length of 0 and never ends); and a deadline on the read (a file on a hung network mount).
/// </summary>
/// <remarks>
/// .NET has no way to ask a path's file type (FIFO, device) without opening it, and opening a FIFO for reading
/// blocks until a writer comes: hence a few libc calls (realpath, statx, open with O_NONBLOCK). statx is used
/// because its buffer has the same layout on every Linux architecture, unlike stat's.
/// </remarks>
public static class ProjectFile
{
    /// <summary>Workflow and metadata files larger than this are refused rather than read into memory.</summary>
    public const long MaxInputBytes = 16 * 1024 * 1024;

    /// <summary>How long a read may take before it is given up (a regular local file takes milliseconds).</summary>
    public static readonly TimeSpan ReadDeadline = TimeSpan.FromSeconds(10);

    /// <summary>Reads the file at <paramref name="path"/>, which must stay inside <paramref name="root"/>.</summary>
    /// <param name="name">How errors name the file (its name in the project folder): never its contents.</param>
    /// <exception cref="FileNotFoundException">There is nothing at the path (or a link to nothing).</exception>
    /// <exception cref="InputException">The file is not one the daemon reads: outside the root, not regular, too big, too slow.</exception>
    public static async Task<byte[]> ReadAsync(string path, string root, string name, long maxBytes, CancellationToken cancellationToken)
    {
        using var handle = Open(path, root, name);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(ReadDeadline);
        try
        {
            return await ReadCappedAsync(handle, name, maxBytes, deadline.Token).AsTask().WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw Refused(name, $"could not be read within {ReadDeadline.TotalSeconds:0} s");
        }
    }

    /// <summary>The synchronous <see cref="ReadAsync"/>, for callers that hold a lock.</summary>
    public static byte[] Read(string path, string root, string name, long maxBytes)
    {
        using var handle = Open(path, root, name);
        var started = Stopwatch.StartNew();
        var buffer = FirstBuffer(handle, maxBytes);
        var total = 0;
        while (true)
        {
            GrowWhenFull(ref buffer, total, name, maxBytes);

            var read = RandomAccess.Read(handle, buffer.AsSpan(total), total);
            if (read == 0)
            {
                return buffer[..total];
            }

            total += read;
            if (started.Elapsed > ReadDeadline)
            {
                throw Refused(name, $"could not be read within {ReadDeadline.TotalSeconds:0} s");
            }
        }
    }

    /// <summary>
    /// The file as a stream, for the daemon's own large files (snapshots, job logs): the same checks, no byte cap (a
    /// regular file ends), and the caller bounds the time.
    /// </summary>
    /// <param name="folder">How errors name the root: a link out of it is "a link to a file outside {folder}".</param>
    public static FileStream OpenRead(string path, string root, string name, string folder = ProjectsFolder) =>
        new(Open(path, root, name, folder), FileAccess.Read, bufferSize: 64 * 1024);

    /// <summary>True when something exists at the path (a file, a link, anything), without following it to a FIFO.</summary>
    public static bool Exists(string path) => Statx(AtFdCwd, path, AtSymlinkNoFollow, out _) || IsLink(path);

    /// <summary>
    /// The path of a file or folder under <paramref name="root"/> with every link below the root resolved, written
    /// with the root as configured; null when it does not exist or leads outside the root. Two paths to one file
    /// give the same answer, so a project reached through a link is managed once, under its real path.
    /// </summary>
    public static string? Canonical(string path, string root)
    {
        var fullRoot = Path.GetFullPath(root).TrimEnd('/');
        if (RealPath(fullRoot) is not { } realRoot || RealPath(Path.GetFullPath(path)) is not { } real)
        {
            return null;
        }

        if (real == realRoot)
        {
            return fullRoot;
        }

        return real.StartsWith(realRoot.TrimEnd('/') + "/", StringComparison.Ordinal)
            ? fullRoot + real[realRoot.TrimEnd('/').Length..]
            : null;
    }

    /// <summary>The inode of a folder (to notice it was deleted and made again), or null when it is not there.</summary>
    public static (ulong Device, ulong Inode)? Identity(string path) =>
        Statx(AtFdCwd, path, 0, out var status) ? (status.Device, status.Inode) : null;

    private const string ProjectsFolder = "the projects folder";

    private static SafeFileHandle Open(string path, string root, string name, string folder = ProjectsFolder)
    {
        var full = Path.GetFullPath(path);
        var realRoot = RealPath(Path.GetFullPath(root)) ?? throw Refused(name, "is outside the folder it must be in");
        var real = RealPath(full);
        if (real is null)
        {
            if (IsLink(full))
            {
                throw Refused(name, "is a link to nothing");
            }

            throw new FileNotFoundException($"{name}: does not exist", name);
        }

        if (!IsUnder(real, realRoot))
        {
            throw Refused(name, $"is a link to a file outside {folder}; only files inside it are read");
        }

        if (!Statx(AtFdCwd, real, AtSymlinkNoFollow, out var status))
        {
            throw new FileNotFoundException($"{name}: does not exist", name);
        }

        if (status.Kind != Regular)
        {
            throw Refused(name, $"is {Describe(status.Kind)}, not a regular file; only regular files are read");
        }

        // O_NONBLOCK: should the file have been swapped for a FIFO since the check, opening it still returns at once.
        var fd = OpenFile(real, ORdOnly | ONonBlock | OCloExec | NoFollowFlag);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == ENoEnt)
            {
                throw new FileNotFoundException($"{name}: does not exist", name);
            }

            throw new IOException($"{name}: cannot be opened (errno {errno})");
        }

        var handle = new SafeFileHandle((IntPtr)fd, ownsHandle: true);
        try
        {
            // What was opened, not what was checked: a link swapped in between is caught here.
            if (!Statx(fd, "", AtEmptyPath, out var opened) || opened.Kind != Regular)
            {
                throw Refused(name, $"is {Describe(opened.Kind)}, not a regular file; only regular files are read");
            }

            if (ReadLink($"/proc/self/fd/{fd}") is { } openedPath && !IsUnder(openedPath, realRoot))
            {
                throw Refused(name, $"is a link to a file outside {folder}; only files inside it are read");
            }

            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static async ValueTask<byte[]> ReadCappedAsync(SafeFileHandle handle, string name, long maxBytes, CancellationToken cancellationToken)
    {
        var buffer = FirstBuffer(handle, maxBytes);
        var total = 0;
        while (true)
        {
            GrowWhenFull(ref buffer, total, name, maxBytes);

            var read = await RandomAccess.ReadAsync(handle, buffer.AsMemory(total), total, cancellationToken);
            if (read == 0)
            {
                return buffer[..total];
            }

            total += read;
        }
    }

    /// <summary>The file's reported size (0 for a device or FIFO) as a start, never more than one byte past the cap.</summary>
    private static byte[] FirstBuffer(SafeFileHandle handle, long maxBytes) =>
        new byte[(int)Math.Min(Math.Max(Length(handle), 4096), maxBytes + 1)];

    /// <summary>
    /// Doubles a full buffer up to one byte past the cap; a buffer full at that size means more than the cap was read,
    /// counted on the bytes themselves (a device reports no size and never ends).
    /// </summary>
    private static void GrowWhenFull(ref byte[] buffer, int total, string name, long maxBytes)
    {
        if (total < buffer.Length)
        {
            return;
        }

        if (total > maxBytes)
        {
            throw TooBig(name, maxBytes);
        }

        Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, maxBytes + 1));
    }

    private static long Length(SafeFileHandle handle) => Statx((int)handle.DangerousGetHandle(), "", AtEmptyPath, out var s) ? (long)Math.Min(s.Size, long.MaxValue) : 0;

    private static InputException TooBig(string name, long maxBytes) =>
        Refused(name, $"is larger than {maxBytes / (1024 * 1024)} MiB; larger files are not read");

    private static InputException Refused(string name, string why) => new([new InputError(name, "", why)]);

    private static bool IsUnder(string real, string realRoot) =>
        real.StartsWith(realRoot.TrimEnd('/') + "/", StringComparison.Ordinal);

    private static bool IsLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget is not null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string Describe(uint kind) => kind switch
    {
        Fifo => "a FIFO (named pipe)",
        CharDevice => "a character device",
        BlockDevice => "a block device",
        Socket => "a socket",
        Directory => "a folder",
        Link => "a link",
        _ => "not a regular file",
    };

    /// <summary>The path with every link resolved (realpath(3)), or null when it does not exist.</summary>
    public static string? RealPath(string path)
    {
        var resolved = realpath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            free(resolved);
        }
    }

    private static string? ReadLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private readonly record struct Status(uint Kind, ulong Size, ulong Inode, ulong Device);

    private static bool Statx(int directory, string path, int flags, out Status status)
    {
        // struct statx (linux/stat.h): stx_mode u16 at 28, stx_ino u64 at 32, stx_size u64 at 40,
        // stx_dev_major / stx_dev_minor u32 at 136 / 140; 256 bytes in all, on every architecture.
        var buffer = new byte[256];
        if (statx(directory, path, flags, StatxType | StatxIno | StatxSize, buffer) != 0)
        {
            status = default;
            return false;
        }

        var mode = BitConverter.ToUInt16(buffer, 28);
        var device = ((ulong)BitConverter.ToUInt32(buffer, 136) << 32) | BitConverter.ToUInt32(buffer, 140);
        status = new Status((uint)mode & SIfMt, BitConverter.ToUInt64(buffer, 40), BitConverter.ToUInt64(buffer, 32), device);
        return true;
    }

    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxType = 0x1;
    private const uint StatxIno = 0x100;
    private const uint StatxSize = 0x200;
    private const uint SIfMt = 0xF000;
    private const uint Fifo = 0x1000;
    private const uint CharDevice = 0x2000;
    private const uint Directory = 0x4000;
    private const uint BlockDevice = 0x6000;
    private const uint Regular = 0x8000;
    private const uint Link = 0xA000;
    private const uint Socket = 0xC000;
    private const int ORdOnly = 0;
    private const int ONonBlock = 0x800;
    private const int OCloExec = 0x80000;
    private const int ENoEnt = 2;

    /// <summary>O_NOFOLLOW differs between architectures; where unknown, the /proc/self/fd check after opening covers it.</summary>
    private static readonly int NoFollowFlag = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 => 0x20000,
        Architecture.Arm64 or Architecture.Arm => 0x8000,
        _ => 0,
    };

#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code in the daemon for three plain calls.
#pragma warning disable CA2101, CA5392
    [DllImport("libc", SetLastError = true)]
    private static extern IntPtr realpath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr resolved);

    [DllImport("libc")]
    private static extern void free(IntPtr pointer);

    [DllImport("libc", SetLastError = true)]
    private static extern int statx(int directory, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int OpenFile([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);
#pragma warning restore CA2101, CA5392
#pragma warning restore SYSLIB1054
}

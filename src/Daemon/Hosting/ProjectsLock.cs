using System.Globalization;
using Batchkeeper.Daemon.Systemd;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Hosting;

/// <summary>A second daemon found the projects root locked and was not told to wait (<c>--standby</c>), or the lock cannot be taken at all.</summary>
public sealed class ProjectsLockedException(string message) : Exception(message);

/// <summary>
/// One daemon per projects root: an exclusive <c>flock</c> on <c>&lt;projects&gt;/.batchkeeper.lock</c>, which the
/// kernel releases however the holder ends (SIGKILL included). .NET takes exactly that lock for a file opened with
/// <see cref="FileShare.None"/> on Linux (<c>flock(LOCK_EX|LOCK_NB)</c>), so no native call is needed. The holder's
/// PID is written to <c>.batchkeeper.pid</c> beside it, for the message of the daemon that finds it locked (the lock
/// file itself cannot be read while locked: .NET takes a shared flock to read it), and removed when it stops. Registered as the first hosted
/// service: nothing else starts (no job record is read, no snapshot written) before the lock is held.
/// With <see cref="BatchkeeperOptions.Standby"/> it waits for the lock, saying so in the log and in systemd's STATUS=.
/// A standby under <c>Type=notify</c> says <c>READY=1</c> as it starts to wait: it is up and doing its job (standing
/// by), and a unit's <c>TimeoutStartSec</c> would otherwise kill it after two minutes of waiting. The READY=1 that
/// the lifetime sends after the takeover's first scan is then a repeat, which systemd ignores.
/// </summary>
public sealed class ProjectsLock(
    IOptions<BatchkeeperOptions> options,
    ISystemdNotifier notifier,
    TimeProvider clock,
    ILogger<ProjectsLock> logger) : IHostedService, IDisposable
{
    /// <summary>How often a standby tries the lock: the takeover comes at most this long after the holder's death.</summary>
    internal static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Linux's EWOULDBLOCK: .NET's IOException for a file another process has locked carries the errno.</summary>
    private const int EWouldBlock = 11;

    private readonly TaskCompletionSource _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private FileStream? _held;

    public const string LockFileName = ".batchkeeper.lock";

    public const string PidFileName = ".batchkeeper.pid";

    /// <summary>The projects root, as its full path.</summary>
    public string Folder { get; } = Path.GetFullPath(options.Value.ProjectsDirectory);

    /// <summary>The PID of the daemon this one took over from as a standby (its holder's, when known); null when it found the lock free.</summary>
    public string? TookOverFrom { get; private set; }

    /// <summary>While this daemon waits as a standby: the PID of the daemon holding the lock. Null otherwise.</summary>
    public string? StandbyFor { get; private set; }

    /// <summary>
    /// Completes once this daemon holds the lock or has begun to wait for it as a standby; faults when the lock is
    /// refused. The status page waits for it, so a daemon that is refused never takes the page's address.
    /// </summary>
    public Task Settled => _settled.Task;

    /// <summary>True while this daemon holds the lock (false for a standby still waiting).</summary>
    public bool Holds => Volatile.Read(ref _held) is not null;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await AcquireAsync(cancellationToken);
            _settled.TrySetResult();
        }
        catch (Exception e)
        {
            _settled.TrySetException(e);
            throw;
        }
    }

    private async Task AcquireAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Folder);
        if (TryAcquire())
        {
            return;
        }

        if (!options.Value.Standby)
        {
            throw new ProjectsLockedException(
                $"another batchkeeper daemon (PID {HolderPid()}) is running on the projects folder {Folder}: stop it first, or start this one with --standby to take over when it ends");
        }

        var holder = HolderPid();
        StandbyFor = holder;
        Log.StandbyWaiting(logger, Folder, holder);
        SystemdStatus.Send(notifier, $"READY=1\nSTATUS=Standby: waiting for the lock on {Folder} held by PID {holder}");
        _settled.TrySetResult();
        var lastPing = clock.GetUtcNow();
        while (!TryAcquire())
        {
            await Task.Delay(PollInterval, clock, cancellationToken);
            if (clock.GetUtcNow() - lastPing > TimeSpan.FromSeconds(1))
            {
                // A standby is alive while it waits: keep systemd's watchdog (if any) fed.
                SystemdStatus.Send(notifier, "WATCHDOG=1");
                lastPing = clock.GetUtcNow();
            }
        }

        TookOverFrom = holder;
        StandbyFor = null;
        Log.StandbyTookOver(logger, Folder, holder);
        SystemdStatus.Send(notifier, $"STATUS=Took over the projects folder {Folder} from PID {holder}");
    }

    /// <summary>Stopped last (hosted services stop in reverse order): every other service has stopped when the lock goes.</summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        var held = Interlocked.Exchange(ref _held, null);
        if (held is null)
        {
            return;
        }

        // The PID file is this daemon's while it holds the lock (a standby writes its own only after taking it), so it
        // goes before the lock does: a clean stop leaves no PID of a process that is gone. A kill leaves it, and the
        // next holder overwrites it.
        RemovePidFile();
        held.Dispose();
    }

    private void RemovePidFile()
    {
        var path = Path.Combine(Folder, PidFileName);
        try
        {
            if (File.ReadAllText(path).Trim() == Environment.ProcessId.ToString(CultureInfo.InvariantCulture))
            {
                File.Delete(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone already, or not ours to remove.
        }
    }

    private bool TryAcquire()
    {
        try
        {
            // Open for reading only: flock needs no write access, and a file held open for writing would keep the
            // folder's file system from being remounted read-only while the daemon runs.
            var stream = new FileStream(Path.Combine(Folder, LockFileName), FileMode.OpenOrCreate, FileAccess.Read, FileShare.None);
            _held = stream;
        }
        catch (IOException e) when (e.HResult == EWouldBlock)
        {
            return false; // held by another process
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ProjectsLockedException($"cannot take the lock {Path.Combine(Folder, LockFileName)} of the projects folder {Folder}: {e.Message}");
        }

        try
        {
            File.WriteAllText(Path.Combine(Folder, PidFileName), Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only the message of a second daemon needs it.
        }

        return true;
    }

    private string HolderPid()
    {
        try
        {
            return File.ReadAllText(Path.Combine(Folder, PidFileName)).Trim() is { Length: > 0 } pid ? pid : "unknown";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "unknown";
        }
    }
}

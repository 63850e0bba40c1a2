using System.Collections.Concurrent;
using System.Diagnostics;

namespace Batchkeeper.Daemon.Tests.Infrastructure;

/// <summary>The real <c>batchkeeper</c> executable as a child process, with its output captured line by line.</summary>
public sealed class DaemonProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();

    private DaemonProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) _stdout.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _stderr.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public IReadOnlyList<string> Stdout => _stdout.ToArray();

    public IReadOnlyList<string> Stderr => _stderr.ToArray();

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>The built daemon, next to the test assembly.</summary>
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "batchkeeper.dll");

    public static DaemonProcess Start(string workingDirectory, IDictionary<string, string> environment, params string[] args) =>
        Start(workingDirectory, environment, ownSession: false, args);

    /// <summary>
    /// With <paramref name="ownSession"/>, the daemon leads a session and process group of its own (<c>setsid</c> execs
    /// it in place, so <see cref="Id"/> is the daemon's PID and its group's id): a signal to that group, as Ctrl-C in a
    /// terminal sends, reaches the daemon and whatever shares its group, never the test runner.
    /// </summary>
    public static DaemonProcess Start(string workingDirectory, IDictionary<string, string> environment, bool ownSession, params string[] args)
    {
        // Through env(1), which resets the signals a test run may have been started with ignored (a background job of a
        // non-interactive shell ignores SIGINT, nohup SIGHUP; a child inherits that, and .NET then never hears Ctrl-C),
        // then execs in place: Id stays the daemon's PID.
        var start = new ProcessStartInfo("env")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--default-signal=HUP,INT,QUIT,TERM");
        if (ownSession)
        {
            start.ArgumentList.Add("setsid");
        }

        start.ArgumentList.Add("dotnet");
        start.ArgumentList.Add(Dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // A clean slate: nothing of the test runner's own systemd or AWS context leaks in.
        foreach (var name in new[] { "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "AWS_PROFILE" })
        {
            start.Environment.Remove(name);
        }

        // A port of its own for the status page, unless the test chose one: tests run side by side, and a developer's
        // daemon may hold the default 8421.
        start.Environment["Batchkeeper__Web__Url"] = "http://127.0.0.1:0";
        foreach (var (name, value) in environment)
        {
            // An empty value removes the variable: the way to say "not set at all" (e.g. no AWS credentials).
            if (value.Length == 0)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        return new DaemonProcess(Process.Start(start)!);
    }

    /// <summary>Sends SIGTERM, as systemd does on stop.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -TERM {_process.Id} failed with {kill.ExitCode}");
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}

using System.Diagnostics;
using System.Globalization;

namespace Batchkeeper.Benchmark;

/// <summary>
/// The real <c>batchkeeper run</c> as a child process (so that its memory is its own), in Aws mode against the
/// emulator and the S3 endpoint. Its console output goes to <c>daemon.out</c> in the scenario folder; its log
/// files to <c>logs/</c>.
/// </summary>
public sealed class DaemonUnderTest : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _output;

    private DaemonUnderTest(Process process, StreamWriter output)
    {
        _process = process;
        _output = output;
    }

    public int Pid => _process.Id;

    /// <param name="webUrl">The status page's address (a port of its own by default).</param>
    /// <param name="extra">More environment for the daemon (the events queue of <see cref="Mode.Events"/>).</param>
    public static DaemonUnderTest Start(
        string root, Uri batchUrl, string s3Url, int maxRequestsPerSecond, int passConcurrency, string webUrl = "http://127.0.0.1:0", IReadOnlyDictionary<string, string>? extra = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(DaemonDll());
        start.ArgumentList.Add("run");
        foreach (var name in new[] { "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "AWS_PROFILE", "AWS_SESSION_TOKEN" })
        {
            start.Environment.Remove(name);
        }

        var environment = new Dictionary<string, string>
        {
            ["Batchkeeper__ProjectsDirectory"] = Path.Combine(root, "projects"),
            ["Batchkeeper__LogDirectory"] = Path.Combine(root, "logs"),
            ["Batchkeeper__Web__Url"] = webUrl,
            ["Batchkeeper__Local__WorkDirectory"] = Path.Combine(root, "local"),
            ["Batchkeeper__Backend"] = "Aws",
            // Passes are started by the benchmark (SIGHUP), not by the schedule, so that each is measured alone.
            ["Batchkeeper__ReconcileInterval"] = "01:00:00",
            ["Batchkeeper__Retry__Backoff"] = "00:00:00",
            ["Batchkeeper__Aws__Region"] = "us-east-1",
            ["Batchkeeper__Aws__BatchServiceUrl"] = batchUrl.ToString(),
            ["Batchkeeper__Aws__S3ServiceUrl"] = s3Url,
            ["Batchkeeper__Aws__S3ForcePathStyle"] = "true",
            ["Batchkeeper__Aws__MaxRequestsPerSecond"] = maxRequestsPerSecond.ToString(CultureInfo.InvariantCulture),
            ["AWS_ACCESS_KEY_ID"] = "S3RVER",
            ["AWS_SECRET_ACCESS_KEY"] = "S3RVER",
            ["AWS_EC2_METADATA_DISABLED"] = "true",
        };
        if (passConcurrency > 0)
        {
            environment["Batchkeeper__PassConcurrency"] = passConcurrency.ToString(CultureInfo.InvariantCulture);
        }

        foreach (var (name, value) in extra ?? new Dictionary<string, string>())
        {
            environment[name] = value;
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        var output = new StreamWriter(Path.Combine(root, "daemon.out")) { AutoFlush = false };
        var daemon = new DaemonUnderTest(process, output);
        process.OutputDataReceived += (_, e) => daemon.Write(e.Data);
        process.ErrorDataReceived += (_, e) => daemon.Write(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return daemon;
    }

    /// <summary>
    /// The daemon as built in its own output folder (same configuration as the benchmark): the copy beside the
    /// benchmark would resolve its hosting assemblies from the ASP.NET shared framework, which it does not ask for.
    /// </summary>
    private static string DaemonDll()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = here.Parent!.Name; // bin/<configuration>/net10.0/
        for (var dir = here; dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Batchkeeper.sln")))
            {
                var dll = Path.Combine(dir.FullName, "src", "Daemon", "bin", configuration, here.Name, "batchkeeper.dll");
                return File.Exists(dll) ? dll : throw new FileNotFoundException($"the daemon is not built: {dll}");
            }
        }

        throw new DirectoryNotFoundException($"no Batchkeeper.sln above {AppContext.BaseDirectory}");
    }

    private void Write(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.WriteLine(line);
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Asks the daemon to reconcile every workflow now.</summary>
    public void ReconcileAll() => Signal("HUP");

    /// <summary>Peak and current resident memory, from /proc: (VmHWM, VmRSS) in bytes.</summary>
    public (long Peak, long Current) Memory()
    {
        long Read(string field)
        {
            var line = File.ReadLines($"/proc/{Pid}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
            return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }

        return (Read("VmHWM"), Read("VmRSS"));
    }

    /// <summary>
    /// The CPU time the daemon has used so far (user and system, from /proc/&lt;pid&gt;/stat, in the kernel's 100 ticks a
    /// second): on this machine the same work takes more or less wall time from day to day, its CPU time less so.
    /// </summary>
    public double CpuSeconds()
    {
        var stat = File.ReadAllText($"/proc/{Pid}/stat");
        // The command name (field 2) is in parentheses and may hold spaces: fields are counted after its closing one.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return ticks / 100.0;
    }

    private void Signal(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", Pid.ToString(CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {Pid} failed");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Signal("TERM");
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        lock (_output)
        {
            _output.Dispose();
        }

        _process.Dispose();
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Systemd;

/// <summary>
/// A Debian bookworm booted with a real systemd as PID 1 (<c>systemd-nspawn --boot</c>), shared by the tests of
/// <see cref="RealSystemdTests"/>. The root file system is made once with debootstrap and cached in
/// <c>tests/.cache/systemd/</c> (gitignored); each run boots it with <c>--volatile=overlay</c>, so whatever a run
/// changes is gone when the container stops and the cache stays as debootstrap left it. The host's .NET runtime
/// (read-only at <c>/usr/share/dotnet</c>), the <c>dotnet publish</c> output of src/Daemon (<c>/srv/publish</c>),
/// <c>deploy/</c> (<c>/srv/deploy</c>) and the demo project (<c>/srv/demo</c>) are bound in. The container has a
/// network of its own with nothing but loopback. Commands run inside with <c>nsenter -t &lt;its PID 1&gt; -a</c>.
/// Where this machine cannot do it (not root, no debootstrap or systemd-nspawn, no reachable Debian mirror, a
/// container that does not boot), <see cref="SkipReason"/> says exactly why and the tests are skipped with it.
/// </summary>
public sealed class BookwormContainer : IAsyncLifetime
{
    /// <summary>The packages beyond debootstrap's minbase: what an administrator's minimal server with systemd has.</summary>
    private const string Packages = "systemd,systemd-sysv,libssl3";

    /// <summary>Bumped when <see cref="Packages"/> or the way the cache is made changes, so an older cache is not used.</summary>
    private const string CacheVersion = "bookworm-minbase-systemd-1";

    private static readonly string[] ContainerPath = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0"];

    private readonly string _run = Path.Combine(Path.GetTempPath(), "batchkeeper-systemd-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly StringBuilder _console = new();
    private Process? _nspawn;

    /// <summary>Why the tests cannot run here, or null when the container is up.</summary>
    public string? SkipReason { get; private set; }

    /// <summary>The container's PID 1 (systemd) as the host sees it.</summary>
    public int InitPid { get; private set; }

    /// <summary>The machine name, unique to this run (tests of other worktrees may boot containers at the same time).</summary>
    public string MachineName { get; } = "bk-test-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>How long debootstrap, publishing and the boot took, for the test output.</summary>
    public string Timings { get; private set; } = "";

    /// <summary>The host path of a path inside the running container (through <c>/proc/PID/root</c>).</summary>
    public string HostPath(string inside) => $"/proc/{InitPid}/root{inside}";

    public async Task InitializeAsync()
    {
        SkipReason = Prerequisites();
        if (SkipReason is not null)
        {
            return;
        }

        Directory.CreateDirectory(_run);
        var clock = Stopwatch.StartNew();
        var rootfs = await EnsureRootfsAsync();
        if (SkipReason is not null)
        {
            return;
        }

        var debootstrapTime = clock.Elapsed;
        var publish = await PublishAsync();
        var publishTime = clock.Elapsed - debootstrapTime;
        await BootAsync(rootfs, publish);
        Timings = string.Create(CultureInfo.InvariantCulture,
            $"rootfs {debootstrapTime.TotalSeconds:0.0} s, publish {publishTime.TotalSeconds:0.0} s, boot {(clock.Elapsed - debootstrapTime - publishTime).TotalSeconds:0.0} s");
    }

    public async Task DisposeAsync()
    {
        await StopContainerAsync();
        try
        {
            Directory.Delete(_run, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Runs a shell script inside the container as root, with a clean environment; returns its exit code and output.</summary>
    public async Task<(int Code, string Output)> ExecAsync(string script, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo("nsenter")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])["-t", InitPid.ToString(CultureInfo.InvariantCulture), "-a", "--", "/usr/bin/env", "-i", .. ContainerPath, "/bin/sh", "-c", script])
        {
            start.ArgumentList.Add(arg);
        }

        return await RunAsync(start, timeout ?? TimeSpan.FromMinutes(2), script);
    }

    /// <summary>Runs a script that must succeed; throws with its output otherwise.</summary>
    public async Task<string> MustAsync(string script, TimeSpan? timeout = null)
    {
        var (code, output) = await ExecAsync(script, timeout);
        if (code != 0)
        {
            throw new InvalidOperationException($"exit code {code} from `{script}` in the container:\n{output}");
        }

        return output;
    }

    internal static async Task<(int Code, string Output)> RunAsync(ProcessStartInfo start, TimeSpan timeout, string what)
    {
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{what}` did not finish within {timeout.TotalSeconds:0} s");
        }

        return (process.ExitCode, await output + await error);
    }

    private static string? Prerequisites()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "the real-systemd tests need Linux";
        }

        if (Environment.UserName != "root")
        {
            return $"the real-systemd tests need root (debootstrap, systemd-nspawn, nsenter); running as {Environment.UserName}";
        }

        var missing = new[] { "debootstrap", "systemd-nspawn", "nsenter" }.Where(tool => Which(tool) is null).ToList();
        return missing.Count == 0
            ? null
            : $"not installed: {string.Join(", ", missing)} (apt-get install debootstrap systemd-container; .ci/run does it)";
    }

    internal static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(["/usr/sbin", "/sbin"])
            .Select(dir => Path.Combine(dir, tool)).FirstOrDefault(File.Exists);

    /// <summary>
    /// The Debian mirror this machine's apt uses for bookworm (the only one reachable here, maybe), from
    /// /etc/apt/sources.list and sources.list.d (one-line and deb822 formats); BATCHKEEPER_DEBIAN_MIRROR overrides it.
    /// </summary>
    internal static string DebianMirror()
    {
        var forced = Environment.GetEnvironmentVariable("BATCHKEEPER_DEBIAN_MIRROR");
        if (!string.IsNullOrWhiteSpace(forced))
        {
            return forced;
        }

        var files = new List<string>();
        if (File.Exists("/etc/apt/sources.list"))
        {
            files.Add("/etc/apt/sources.list");
        }

        if (Directory.Exists("/etc/apt/sources.list.d"))
        {
            files.AddRange(Directory.GetFiles("/etc/apt/sources.list.d").Order(StringComparer.Ordinal));
        }

        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            // deb822: stanzas separated by blank lines, with URIs: and Suites: fields.
            foreach (var stanza in text.Split("\n\n"))
            {
                var fields = stanza.Split('\n').Where(l => !l.TrimStart().StartsWith('#') && l.Contains(':', StringComparison.Ordinal))
                    .Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
                if (fields.TryGetValue("Suites", out var suites) && suites.Split(' ').Contains("bookworm")
                    && fields.TryGetValue("URIs", out var uris) && (!fields.TryGetValue("Types", out var types) || types.Split(' ').Contains("deb")))
                {
                    return uris.Split(' ')[0];
                }
            }

            // One-line: deb [options] URI suite components...
            foreach (var line in text.Split('\n'))
            {
                var words = System.Text.RegularExpressions.Regex.Replace(line.Trim(), @"\[[^\]]*\]", "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (words.Length >= 3 && words[0] == "deb" && words[2] == "bookworm")
                {
                    return words[1];
                }
            }
        }

        return "http://deb.debian.org/debian";
    }

    /// <summary>The cached bookworm root file system, made with debootstrap the first time (under a lock, so that two runs share one).</summary>
    private async Task<string> EnsureRootfsAsync()
    {
        var cache = Path.Combine(RepoPaths.Root, "tests", ".cache", "systemd");
        Directory.CreateDirectory(cache);
        var rootfs = Path.Combine(cache, CacheVersion);
        var done = rootfs + ".complete";
        using var cacheLock = await LockAsync(Path.Combine(cache, ".lock"));
        if (File.Exists(done) && Directory.Exists(rootfs))
        {
            return rootfs;
        }

        // A half-made tree of an interrupted run is not trusted.
        foreach (var stale in Directory.GetDirectories(cache, CacheVersion + "*"))
        {
            Directory.Delete(stale, recursive: true);
        }

        var temp = rootfs + ".tmp";
        var mirror = DebianMirror();
        // Niced: the other test classes run meanwhile, some with timeouts of a few hundred milliseconds.
        var start = new ProcessStartInfo("nice")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])["-n", "15", "debootstrap", "--variant=minbase", "--include=" + Packages, "bookworm", temp, mirror])
        {
            start.ArgumentList.Add(arg);
        }

        var (code, output) = await RunAsync(start, TimeSpan.FromMinutes(8), "debootstrap");
        if (code != 0)
        {
            // Most likely no Debian mirror is reachable from here: a limit of the machine, not a failure of the product.
            var tail = string.Join("\n", output.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(6));
            SkipReason = $"debootstrap of bookworm from {mirror} failed (exit code {code}):\n{tail}";
            Directory.Delete(temp, recursive: true);
            return rootfs;
        }

        Directory.Move(temp, rootfs);
        await File.WriteAllTextAsync(done, $"debootstrap --variant=minbase --include={Packages} bookworm {mirror}\n");
        return rootfs;
    }

    internal static async Task<FileStream> LockAsync(string path)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(10);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(500); // another run of the tests is making the cache
            }
        }
    }

    /// <summary><c>dotnet publish</c> of src/Daemon, as install.sh --from expects it; reuses the build dotnet test just made.</summary>
    private async Task<string> PublishAsync()
    {
        var output = Path.Combine(_run, "publish");
        var configuration = typeof(BookwormContainer).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var project = Path.Combine(RepoPaths.Root, "src", "Daemon", "Batchkeeper.Daemon.csproj");
        foreach (var noBuild in new[] { true, false })
        {
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
            };
            foreach (var arg in (string[])["publish", project, "-c", configuration, "-o", output, "--nologo", "-v", "quiet", .. noBuild ? ["--no-build"] : Array.Empty<string>()])
            {
                start.ArgumentList.Add(arg);
            }

            var (code, text) = await RunAsync(start, TimeSpan.FromMinutes(5), "dotnet publish");
            if (code == 0 && File.Exists(Path.Combine(output, "batchkeeper.dll")))
            {
                return output;
            }

            if (!noBuild)
            {
                throw new InvalidOperationException($"dotnet publish of {project} failed:\n{text}");
            }
        }

        return output;
    }

    private async Task BootAsync(string rootfs, string publish)
    {
        // The host's .NET: the folder of the running runtime's dotnet (…/shared/Microsoft.NETCore.App/<version>/ → …).
        var dotnetRoot = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "..", "..", ".."));
        string[] nspawn =
        [
            "systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "--boot", "--directory=" + rootfs,
            "--machine=" + MachineName, "--volatile=overlay", "--private-network", "--console=pipe",
            $"--bind-ro={dotnetRoot}:/usr/share/dotnet",
            $"--bind-ro={publish}:/srv/publish",
            $"--bind-ro={Path.Combine(RepoPaths.Root, "deploy")}:/srv/deploy",
            $"--bind-ro={Path.Combine(RepoPaths.Root, "projects", "demo")}:/srv/demo",
        ];

        // The container must never outlive the tests: it is stopped when this process closes the wrapper's standard
        // input (also when the test host dies), and after 20 minutes whatever happens.
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])["-c", "exec 3<&0; timeout -k 15 1200 \"$@\" </dev/null & n=$!; (read -r _ <&3; kill -TERM $n 2>/dev/null) & wait $n", "nspawn", .. nspawn])
        {
            start.ArgumentList.Add(arg);
        }

        _nspawn = Process.Start(start)!;
        _nspawn.OutputDataReceived += (_, e) => Append(e.Data);
        _nspawn.ErrorDataReceived += (_, e) => Append(e.Data);
        _nspawn.BeginOutputReadLine();
        _nspawn.BeginErrorReadLine();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (InitPid == 0)
        {
            if (_nspawn.HasExited || DateTime.UtcNow > deadline)
            {
                SkipReason = $"systemd-nspawn --boot did not start a container here ({(_nspawn.HasExited ? $"exit code {_nspawn.ExitCode}" : "no systemd after 60 s")}):\n{Console()}";
                await StopContainerAsync();
                return;
            }

            InitPid = FindInit(_nspawn.Id);
            await Task.Delay(100);
        }

        // systemctl cannot connect until PID 1 has made its socket; then --wait waits for the boot to finish.
        var (code, state) = (0, "");
        var booted = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        do
        {
            (code, state) = await ExecAsync("systemctl is-system-running --wait", TimeSpan.FromSeconds(120));
            state = state.Trim();
        }
        while (state.Contains("Failed to connect", StringComparison.Ordinal) && DateTime.UtcNow < booted && !_nspawn.HasExited && await Delay());

        if (state is not ("running" or "degraded"))
        {
            SkipReason = $"the container's systemd did not finish booting: is-system-running says '{state}' (exit code {code}):\n{Console()}";
            await StopContainerAsync();
        }
    }

    private static async Task<bool> Delay()
    {
        await Task.Delay(200);
        return true;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_console)
        {
            _console.AppendLine(line);
        }
    }

    private string Console()
    {
        lock (_console)
        {
            return _console.ToString();
        }
    }

    /// <summary>The container's systemd: the descendant of the wrapper named systemd (nspawn's child, in a PID namespace of its own).</summary>
    private static int FindInit(int wrapper)
    {
        var queue = new Queue<int>([wrapper]);
        while (queue.Count > 0)
        {
            var pid = queue.Dequeue();
            foreach (var child in Children(pid))
            {
                if (ReadOrEmpty($"/proc/{child}/comm").Trim() == "systemd")
                {
                    return child;
                }

                queue.Enqueue(child);
            }
        }

        return 0;
    }

    private static IEnumerable<int> Children(int pid)
    {
        if (!Directory.Exists($"/proc/{pid}/task"))
        {
            return [];
        }

        return Directory.GetDirectories($"/proc/{pid}/task")
            .SelectMany(task => ReadOrEmpty(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToList();
    }

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }

    /// <summary>Powers the container off (nspawn turns SIGTERM into a clean shutdown); kills it if that takes too long.</summary>
    private async Task StopContainerAsync()
    {
        if (_nspawn is null)
        {
            return;
        }

        var init = InitPid;
        try
        {
            if (!_nspawn.HasExited)
            {
                _nspawn.StandardInput.Close();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                try
                {
                    await _nspawn.WaitForExitAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    // Killing the container's PID 1 ends every process of its PID namespace.
                    if (init > 0)
                    {
                        Signals.Kill(init);
                    }

                    _nspawn.Kill(entireProcessTree: true);
                    await _nspawn.WaitForExitAsync();
                }
            }
        }
        finally
        {
            _nspawn.Dispose();
            _nspawn = null;
        }
    }
}

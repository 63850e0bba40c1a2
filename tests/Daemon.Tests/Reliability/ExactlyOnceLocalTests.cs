using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Batchkeeper.Daemon.Tests.Reliability;

/// <summary>
/// Exactly once, however the real executable is started and stopped on the local backend: two daemons on one folder,
/// Ctrl-C in its terminal, SIGKILL at random. Every job writes what it saw into an audit folder outside the projects
/// root: a second copy of a running slot, a start after the slot's output existed, more jobs at once than
/// MaxConcurrentJobs; and the test samples the live processes, counted by a marker unique to the test.
/// </summary>
public sealed class ExactlyOnceLocalTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly string _marker = "bk-once-" + Guid.NewGuid().ToString("N")[..10];

    public void Dispose() => _folder.Dispose();

    private string Projects => _folder.Combine("projects");

    private string Audit => _folder.Combine("audit");

    private Dictionary<string, string> Environment(int maxConcurrent = 2) => new()
    {
        ["Batchkeeper__ProjectsDirectory"] = Projects,
        ["Batchkeeper__LogDirectory"] = _folder.Combine("logs"),
        ["Batchkeeper__Local__WorkDirectory"] = _folder.Combine("work"),
        ["Batchkeeper__Local__MaxConcurrentJobs"] = maxConcurrent.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Batchkeeper__ReconcileInterval"] = "00:00:01",
        ["Batchkeeper__RescanInterval"] = "00:00:01",
        ["Batchkeeper__Retry__Backoff"] = "00:00:00.100",
    };

    /// <summary>
    /// A workflow of one analysis whose job audits itself: it notes a start after its output exists, a second copy of
    /// itself running (a folder per running slot), and more than <paramref name="maxConcurrent"/> running at once; then
    /// waits (<paramref name="wait"/>, a shell command) and writes its output. Its $0 is the marker and the sample.
    /// </summary>
    private string CreateWorkflow(int samples, string wait, int maxConcurrent = 2, int maxAttempts = 3)
    {
        Directory.CreateDirectory(Path.Combine(Audit, "running"));
        var project = Demo.CreateProject(Projects, "study", Enumerable.Range(1, samples).Select(i => ($"s{i:D2}", 1)).ToArray());
        var a = Audit;
        var script =
            "s=$BATCHKEEPER_SAMPLE; " +
            $"if [ -e results/$s ]; then echo $s >> {a}/after-output; fi; " +
            $"mkdir {a}/running/$s 2>/dev/null || echo $s >> {a}/overlap; " +
            $"n=$(ls {a}/running | wc -l); if [ $n -gt {maxConcurrent} ]; then echo $n >> {a}/over-limit; fi; " +
            $"echo $s >> {a}/starts; " +
            $"{wait}; " +
            "mkdir -p results && echo ok > results/$s.tmp && mv results/$s.tmp results/$s; " +
            $"rmdir {a}/running/$s";
        var workflow = Path.Combine(project, "once.json");
        Demo.Drop(workflow, $$"""
            {
              "workflow_name": "once",
              "analyses": [
                { "name": "work", "job_definition": "w:1", "queue": "local", "retry": { "max_attempts": {{maxAttempts}} },
                  "command": ["sh", "-c", {{System.Text.Json.JsonSerializer.Serialize(script)}}, "{{_marker}}-{sample_name}"],
                  "outputs": ["results/{sample_name}"] }
              ]
            }
            """);
        return workflow;
    }

    private string[] AuditLines(string name) => File.Exists(Path.Combine(Audit, name)) ? File.ReadAllLines(Path.Combine(Audit, name)) : [];

    private void AssertAuditClean()
    {
        Assert.True(AuditLines("overlap").Length == 0, $"slots run twice at once: {string.Join(", ", AuditLines("overlap"))}");
        Assert.True(AuditLines("after-output").Length == 0, $"slots run again after their output existed: {string.Join(", ", AuditLines("after-output"))}");
        Assert.True(AuditLines("over-limit").Length == 0, $"more jobs at once than MaxConcurrentJobs: {string.Join(", ", AuditLines("over-limit"))}");
    }

    [Fact]
    public async Task TwoDaemonsOnOneFolder_TheSecondRefusesAtOnceNamingTheFolderAndThePid_AndNoSlotRunsTwice()
    {
        var workflow = CreateWorkflow(6, "sleep 0.5");
        var environment = Environment();
        await using var first = DaemonProcess.Start(_folder.Path, environment, "run");
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Total == 6, "the first daemon's first pass");

        await using (var second = DaemonProcess.Start(_folder.Path, environment, "run"))
        {
            var code = await second.WaitForExitAsync(TimeSpan.FromSeconds(30));
            var stderr = string.Join("\n", second.Stderr);
            Assert.NotEqual(0, code);
            Assert.Contains(Path.GetFullPath(Projects), stderr, StringComparison.Ordinal);
            Assert.Contains($"PID {first.Id}", stderr, StringComparison.Ordinal);
            // One line, not the host's "Hosting failed to start" and a stack trace before it.
            Assert.Single(second.Stderr, l => l.Length > 0);
            Assert.DoesNotContain(second.Stdout, l => l.Contains("Hosting failed", StringComparison.Ordinal) || l.StartsWith("   at ", StringComparison.Ordinal));
        }

        // The commands that only read, and those that write request files, work beside the running daemon.
        await using (var status = DaemonProcess.Start(_folder.Path, environment, "status", workflow))
        {
            var code = await status.WaitForExitAsync(TimeSpan.FromSeconds(30));
            Assert.True(code is 0 or 1, $"status exited {code}: {string.Join("\n", status.Stderr)}");
            Assert.Contains("once.json", string.Join("\n", status.Stdout), StringComparison.Ordinal);
        }

        await using (var retry = DaemonProcess.Start(_folder.Path, environment, "retry", workflow, "--sample", "s01"))
        {
            var code = await retry.WaitForExitAsync(TimeSpan.FromSeconds(30));
            Assert.True(code == 0, $"retry exited {code}: {string.Join("\n", retry.Stderr)}");
        }

        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 6, "every slot completes");
        Assert.Equal(Enumerable.Range(1, 6).Select(i => $"s{i:D2}"), AuditLines("starts").Order(StringComparer.Ordinal));
        AssertAuditClean();
        first.Terminate();
        Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromSeconds(45)));
    }

    [Fact]
    public async Task CtrlCToTheDaemonsProcessGroup_WithMaxAttemptsOne_StopsItsJobsAsInterrupted_AndAfterARestartEverySlotCompletes()
    {
        var gate = _folder.Combine("gate");
        var workflow = CreateWorkflow(4, $"while [ ! -e {gate} ]; do sleep 0.05; done", maxAttempts: 1);
        var environment = Environment();
        await using (var daemon = DaemonProcess.Start(_folder.Path, environment, ownSession: true, "run"))
        {
            await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Running == 2, "two jobs run");
            await Eventually.WaitAsync(() => AuditLines("starts").Length == 2, "both jobs have started their commands");

            // Ctrl-C in the daemon's terminal: SIGINT to its whole process group.
            Signals.InterruptGroup(daemon.Id);
            var code = await daemon.WaitForExitAsync(TimeSpan.FromSeconds(45));
            Assert.True(code == 0, $"exit code {code} after Ctrl-C: {string.Join("\n", daemon.Stderr.TakeLast(20))}");
        }

        await Eventually.WaitAsync(() => LocalJobBackendProcesses() == 0, "no job process is left");

        // The jobs it killed could not clear their folders in the audit's running/: they are gone (just checked).
        Directory.Delete(Path.Combine(Audit, "running"), recursive: true);
        Directory.CreateDirectory(Path.Combine(Audit, "running"));
        var stopped = (await TestDaemon.ReadSnapshotAsync(workflow))!;
        Assert.Equal(0, stopped.Summary.Running);
        Assert.Equal(0, stopped.Summary.Failed);
        // The two it killed are interrupted (no attempt used); the two still queued in the backend carry on.
        Assert.Equal(2, stopped.Slots.Count(s => s.History.Count > 0 && s.History[^1].FailureClass == FailureClass.Interrupted));
        Assert.DoesNotContain(stopped.Slots, s => s.History.Any(h => h.FailureClass is not (null or FailureClass.Interrupted)));

        await File.WriteAllTextAsync(gate, "");
        await using (var restarted = DaemonProcess.Start(_folder.Path, environment, "run"))
        {
            var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 4, "every slot completes after the restart");
            Assert.All(done.Slots, s => Assert.Equal(1, s.Attempt));
            restarted.Terminate();
            Assert.Equal(0, await restarted.WaitForExitAsync(TimeSpan.FromSeconds(45)));
        }

        Assert.True(AuditLines("overlap").Length == 0 && AuditLines("after-output").Length == 0, "a slot ran twice");
    }

    [Fact]
    public async Task StandbyFromTheConfiguration_TakesOverFromADaemonKilledWhileItsJobsRun_AdoptsThemAndRunsNoSlotTwice()
    {
        // The jobs wait for a gate, so that two of them still run when the daemon is killed, however slow the machine.
        var gate = _folder.Combine("gate");
        var workflow = CreateWorkflow(6, $"while [ ! -e {gate} ]; do sleep 0.05; done");
        var environment = Environment();
        await using var active = DaemonProcess.Start(_folder.Path, environment, "run");
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Running == 2, "two jobs run");

        var standbyEnvironment = new Dictionary<string, string>(environment) { ["Batchkeeper__Standby"] = "true" };
        await using var standby = DaemonProcess.Start(_folder.Path, standbyEnvironment, "run");
        await Eventually.WaitAsync(() => LogFiles.Read(_folder.Combine("logs")).Contains($"locked by another daemon (PID {active.Id})", StringComparison.Ordinal), "the standby says it waits");

        // The jobs outlive the killed daemon, and none of them holds the lock: the standby takes over while they run.
        Signals.Kill(active.Id);
        await active.WaitForExitAsync(TimeSpan.FromSeconds(30));
        await Eventually.WaitAsync(() => Occurrences(LogFiles.Read(_folder.Combine("logs")), "from before the restart: adopted") == 2, "the standby adopts the two running jobs", TimeSpan.FromSeconds(30));
        await File.WriteAllTextAsync(gate, "");
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 6, "the standby completes every slot");
        Assert.Equal(Enumerable.Range(1, 6).Select(i => $"s{i:D2}"), AuditLines("starts").Order(StringComparer.Ordinal));
        AssertAuditClean();
        standby.Terminate();
        Assert.Equal(0, await standby.WaitForExitAsync(TimeSpan.FromSeconds(45)));
    }

    [Fact]
    public async Task StandbyStoppedWhileItWaits_Exits0_AndLeavesTheActiveDaemonAlone()
    {
        var workflow = CreateWorkflow(2, "sleep 0.2");
        var environment = Environment();
        await using var active = DaemonProcess.Start(_folder.Path, environment, "run");
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Total == 2, "the active daemon's first pass");
        await using (var standby = DaemonProcess.Start(_folder.Path, environment, "run", "--standby"))
        {
            await Eventually.WaitAsync(() => LogFiles.Read(_folder.Combine("logs")).Contains($"locked by another daemon (PID {active.Id})", StringComparison.Ordinal), "the standby says it waits");
            standby.Terminate();
            var code = await standby.WaitForExitAsync(TimeSpan.FromSeconds(30));
            Assert.True(code == 0, $"the standby exited {code}: {string.Join("\n", standby.Stderr.TakeLast(10))}");
        }

        Assert.False(active.HasExited);
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "the active daemon carries on");
        active.Terminate();
        Assert.Equal(0, await active.WaitForExitAsync(TimeSpan.FromSeconds(45)));
    }

    private const int Kills = 20;
    private const int Seed = 20261202;

    [Fact]
    public async Task KilledAtRandom20TimesWhileRunningLocalJobs_NoSlotRunsTwiceAtOnce_NoneAfterItsOutputExists_AndMaxConcurrentJobsHolds()
    {
        const int samples = 24;
        var random = new Random(Seed);
        var workflow = CreateWorkflow(samples, "sleep 2.5"); // 30 s of work at 2 at once: the kills land while jobs run
        var environment = Environment();
        using var sampler = new ProcessSampler(_marker);

        var adoptedOrRecorded = 0;
        for (var trial = 0; trial < Kills; trial++)
        {
            await using var daemon = DaemonProcess.Start(_folder.Path, environment, "run");

            // Up and working (its first scan done, so it holds the lock and has adopted or started jobs), however slow the
            // machine is; then a random moment of its work: the kill time, not a wait for a condition.
            await Eventually.WaitAsync(() => Occurrences(LogFiles.Read(_folder.Combine("logs")), "First scan done") > trial, $"run {trial + 1} is up", TimeSpan.FromSeconds(60));
            await Task.Delay(random.Next(0, 1500));
            Signals.Kill(daemon.Id); // the daemon alone, as kill -9 <pid>: its jobs are not its process tree's to kill
            await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30));
            await CrashAudit.AssertEverySnapshotParsesAsync(Projects);
        }

        await using (var last = DaemonProcess.Start(_folder.Path, environment, "run"))
        {
            var lastStart = DateTimeOffset.UtcNow;
            await TestDaemon.WaitForPassAsync(workflow, lastStart, "convergence after the kills", s => s.Summary.Complete == samples, TimeSpan.FromMinutes(2));
            last.Terminate();
            Assert.Equal(0, await last.WaitForExitAsync(TimeSpan.FromSeconds(45)));
        }

        var log = LogFiles.Read(_folder.Combine("logs"));
        adoptedOrRecorded = log.Split('\n').Count(l => l.Contains("from before the restart: adopted", StringComparison.Ordinal));
        output.WriteLine($"{AuditLines("starts").Length} job starts for {samples} slots; {adoptedOrRecorded} jobs adopted after a kill; " +
                         $"at most {sampler.MaxTotal} jobs at once, at most {sampler.MaxPerSlot} per slot, in {sampler.Samples} samples of the processes");
        AssertAuditClean();
        Assert.True(sampler.MaxPerSlot <= 1, $"a slot had {sampler.MaxPerSlot} processes at once");
        Assert.True(sampler.MaxTotal <= 2, $"{sampler.MaxTotal} jobs ran at once, more than MaxConcurrentJobs (2)");
        Assert.True(adoptedOrRecorded > 0, "no kill landed while a job ran: the trials proved nothing");
    }

    private static int Occurrences(string text, string what)
    {
        var count = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    /// <summary>Processes of this test's jobs (the job's own shell: argv is sh -c script marker-sample).</summary>
    private int LocalJobBackendProcesses() => ProcessSampler.JobsBySlot(_marker).Values.Sum();

    /// <summary>Samples the live jobs of a test every few milliseconds: the most at once, and the most for one slot.</summary>
    private sealed class ProcessSampler : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Thread _thread;
        private int _maxTotal;
        private int _maxPerSlot;
        private int _samples;

        public ProcessSampler(string marker)
        {
            _thread = new Thread(() =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    var jobs = JobsBySlot(marker);
                    _maxTotal = Math.Max(_maxTotal, jobs.Values.Sum());
                    _maxPerSlot = Math.Max(_maxPerSlot, jobs.Values.DefaultIfEmpty(0).Max());
                    _samples++;
                    _stop.Token.WaitHandle.WaitOne(20);
                }
            }) { IsBackground = true };
            _thread.Start();
        }

        public int MaxTotal => Volatile.Read(ref _maxTotal);

        public int MaxPerSlot => Volatile.Read(ref _maxPerSlot);

        public int Samples => Volatile.Read(ref _samples);

        /// <summary>
        /// Live jobs per slot. A subshell of a job (its <c>$(…)</c>) has the same command line: only a process whose
        /// parent is not itself a job of the slot counts.
        /// </summary>
        public static Dictionary<string, int> JobsBySlot(string marker)
        {
            var found = new List<(int Pid, int Parent, string Slot)>();
            foreach (var folder in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(folder), out _))
                {
                    continue;
                }

                try
                {
                    var argv = File.ReadAllText(Path.Combine(folder, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries);
                    if (argv is ["sh", "-c", _, var name] && name.StartsWith(marker, StringComparison.Ordinal))
                    {
                        var stat = File.ReadAllText(Path.Combine(folder, "stat"));
                        var parent = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
                        found.Add((int.Parse(Path.GetFileName(folder), System.Globalization.CultureInfo.InvariantCulture), parent, name));
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // gone while looking
                }
            }

            var pids = found.Select(f => f.Pid).ToHashSet();
            return found.Where(f => !pids.Contains(f.Parent)).GroupBy(f => f.Slot, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        }

        public void Dispose()
        {
            _stop.Cancel();
            _thread.Join();
            _stop.Dispose();
        }
    }
}

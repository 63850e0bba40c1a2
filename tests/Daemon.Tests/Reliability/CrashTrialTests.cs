using Batchkeeper.BatchEmulator;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Tests.Aws;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Xunit.Abstractions;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Reliability;

/// <summary>
/// The real executable killed with SIGKILL at random moments of its work against the Batch emulator, 25 times,
/// some of them while a SubmitJob has been processed but not answered. Afterwards: every job Batch ever ran is in
/// its slot's history, no slot ever had two jobs at once (at most one job per attempt), every snapshot parsed after
/// every kill, and the workflow converged.
/// </summary>
public sealed class CrashTrialTests(S3rverFixture s3, ITestOutputHelper output) : IClassFixture<S3rverFixture>, IDisposable
{
    private const int Trials = 25;
    private const int Seed = 20261122;
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>The daemon on the emulator and s3rver, with passes and rescans every second and short backoffs.</summary>
    private Dictionary<string, string> Environment(Emulator emulator) => new()
    {
        ["Batchkeeper__ProjectsDirectory"] = _folder.Combine("projects"),
        ["Batchkeeper__LogDirectory"] = _folder.Combine("logs"),
        ["Batchkeeper__ReconcileInterval"] = "00:00:01",
        ["Batchkeeper__RescanInterval"] = "00:00:01",
        ["Batchkeeper__Retry__Backoff"] = "00:00:00.100",
        ["Batchkeeper__Backend"] = "Aws",
        ["Batchkeeper__Aws__Region"] = "us-east-1",
        ["Batchkeeper__Aws__BatchServiceUrl"] = emulator.BaseAddress.ToString(),
        ["Batchkeeper__Aws__S3ServiceUrl"] = s3.Server.ServiceUrl,
        ["Batchkeeper__Aws__S3ForcePathStyle"] = "true",
        ["Batchkeeper__Aws__AttemptTimeout"] = "00:00:02",
        ["AWS_ACCESS_KEY_ID"] = S3rver.AccessKey,
        ["AWS_SECRET_ACCESS_KEY"] = S3rver.SecretKey,
    };

    [Fact]
    public async Task KilledAtRandom25Times_NeverSubmitsASlotTwice_NeverLosesAJob_AndConverges()
    {
        var random = new Random(Seed);
        var options = new BatchEmulatorOptions
        {
            S3ServiceUrl = new Uri(s3.Server.ServiceUrl),
            // Slow enough, with failures and a cap on running jobs, that the work lasts through the 25 kills.
            RunDuration = TimeSpan.FromSeconds(3),
            MaxRunningJobs = 4,
            Faults = new FaultSettings { JobFailureRate = 0.3, Seed = Seed },
        };
        await using var emulator = await Emulator.StartAsync(options);
        var project = Demo.CreateProject(_folder.Combine("projects"), "study", Enumerable.Range(1, 16).Select(i => ($"s{i}", 1)).ToArray());
        var workflow = Path.Combine(project, "crash.json");
        Demo.Drop(workflow, $$"""
            {
              "workflow_name": "crash",
              "analyses": [
                { "name": "one", "job_definition": "d:1", "queue": "q", "command": ["one"], "retry": { "max_attempts": 10 },
                  "outputs": ["s3://results/crash-{{Guid.NewGuid():N}}/{sample_name}.1"] },
                { "name": "two", "job_definition": "d:1", "queue": "q", "command": ["two"], "retry": { "max_attempts": 10 },
                  "outputs": ["s3://results/crash-two/{{Guid.NewGuid():N}}/{sample_name}.2"] }
              ]
            }
            """);
        var environment = Environment(emulator);

        var killsDuringSubmit = 0;
        for (var trial = 0; trial < Trials; trial++)
        {
            var inSubmit = trial % 5 == 0;
            if (inSubmit)
            {
                emulator.Faults.Update(f => f with { StallRate = 1.0, StallAfterProcessing = true, StallDuration = TimeSpan.FromSeconds(30), Operations = [BatchOperations.SubmitJob] });
            }

            var submitsBefore = emulator.RequestsFor(BatchOperations.SubmitJob).Count;
            await using (var daemon = DaemonProcess.Start(_folder.Path, environment, "run"))
            {
                if (inSubmit)
                {
                    // Kill while a SubmitJob has reached Batch but its answer has not reached the daemon.
                    try
                    {
                        await Eventually.WaitAsync(() => emulator.RequestsFor(BatchOperations.SubmitJob).Count > submitsBefore || emulator.RequestsInFlight > 0,
                            "a SubmitJob in flight", TimeSpan.FromSeconds(5));
                        killsDuringSubmit++;
                    }
                    catch (TimeoutException)
                    {
                        // Nothing left to submit: a plain kill then.
                    }
                }
                else
                {
                    await Task.Delay(random.Next(200, 2500)); // a random moment of its work: this is the kill time, not a wait for a condition
                }
            }

            emulator.Faults.Update(f => f with { StallRate = 0 });
            await CrashAudit.AssertEverySnapshotParsesAsync(_folder.Combine("projects"));
        }

        WorkflowSnapshot done;
        var lastStart = DateTimeOffset.UtcNow;
        await using (var daemon = DaemonProcess.Start(_folder.Path, environment, "run"))
        {
            // Seen by this last run: the snapshot a killed run left may already be complete.
            done = await TestDaemon.WaitForPassAsync(workflow, lastStart, "convergence after the trials", s => s.Summary.Complete == 32, TimeSpan.FromMinutes(3));
        }

        Assert.True(killsDuringSubmit >= 3, $"only {killsDuringSubmit} kills landed during a SubmitJob");
        output.WriteLine($"{emulator.Jobs.Count} jobs, {killsDuringSubmit} kills during a SubmitJob");
        var finishedUnseen = CrashAudit.AssertNoJobLostOrSubmittedTwice(emulator, done);
        output.WriteLine($"{finishedUnseen} jobs finished before any daemon saw them (answers lost to kills)");
    }

    private const int WriteTrials = 10;
    private const int DoneSamples = 960;
    private const int PendingSamples = 40;

    /// <summary>
    /// Kills aimed at snapshot writes. A workflow of 1,000 samples × 2 analyses (960 samples already done through file
    /// outputs, 40 to run on the emulator) has a snapshot of a few MB, written by every pass that changes it. Each trial
    /// watches the project folder; when a snapshot temp file appears the daemon is frozen (SIGSTOP) at once, and only if
    /// the temp file is still there once every thread has stopped, so the process is provably between creating it and
    /// renaming it over the snapshot, is it killed (SIGKILL); otherwise it is let go (SIGCONT) until the next write. Half
    /// the trials take the first write after a SubmitJob of that run (the job ids exist only in memory and in the
    /// half-written file), the others the first, second or third write of the run.
    /// </summary>
    [Fact]
    public async Task KilledWhileWritingSnapshots_EverySnapshotParses_NoJobIsSubmittedTwice_AndItConverges()
    {
        var random = new Random(Seed + 1);
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions
        {
            S3ServiceUrl = new Uri(s3.Server.ServiceUrl),
            RunDuration = TimeSpan.FromSeconds(2),
            MaxRunningJobs = 8,
            Faults = new FaultSettings { JobFailureRate = 0.2, Seed = Seed + 1 },
        });
        var projects = _folder.Combine("projects");
        var project = Path.Combine(projects, "big");
        var done = _folder.Combine("done");
        Directory.CreateDirectory(project);
        Directory.CreateDirectory(done);
        var prefix = Guid.NewGuid().ToString("N");
        var metadata = new List<string> { "sample_name,out1,out2" };
        for (var i = 1; i <= DoneSamples + PendingSamples; i++)
        {
            var sample = $"sample{i:D4}";
            if (i <= DoneSamples)
            {
                // Done before the daemon ever ran: its outputs are files that exist.
                File.WriteAllText(Path.Combine(done, sample + ".1"), "");
                File.WriteAllText(Path.Combine(done, sample + ".2"), "");
                metadata.Add($"{sample},file://{done}/{sample}.1,file://{done}/{sample}.2");
            }
            else
            {
                metadata.Add($"{sample},s3://results/{prefix}/{sample}.1,s3://results/{prefix}/{sample}.2");
            }
        }

        File.WriteAllLines(Path.Combine(project, "metadata.csv"), metadata);
        var workflow = Path.Combine(project, "big.json");
        Demo.Drop(workflow, """
            {
              "workflow_name": "big",
              "analyses": [
                { "name": "one", "job_definition": "d:1", "queue": "q", "command": ["one", "{sample_name}"], "retry": { "max_attempts": 10 },
                  "outputs": ["{out1}"] },
                { "name": "two", "job_definition": "d:1", "queue": "q", "command": ["two", "{sample_name}"], "retry": { "max_attempts": 10 },
                  "outputs": ["{out2}"] }
              ]
            }
            """);
        var environment = Environment(emulator);
        environment["Batchkeeper__Aws__MaxRequestsPerSecond"] = "100";
        var snapshotPath = Batchkeeper.Daemon.Snapshots.FileSnapshotStore.PathFor(workflow);
        var tempPrefix = "." + Path.GetFileName(snapshotPath) + ".";

        var afterSubmit = 0;
        var stages = new Dictionary<string, int>(StringComparer.Ordinal);
        using var trap = new WriteTrap(project, tempPrefix);
        for (var trial = 0; trial < WriteTrials; trial++)
        {
            var wantsSubmit = trial % 2 == 0;
            var nth = random.Next(1, 4);
            var submitsBefore = emulator.RequestsFor(BatchOperations.SubmitJob).Count(r => r.StatusCode == 200);
            var previousSize = File.Exists(snapshotPath) ? new FileInfo(snapshotPath).Length : 0;
            var started = DateTime.UtcNow;
            WriteTrap.Caught caught;
            await using (var daemon = DaemonProcess.Start(_folder.Path, environment, "run"))
            {
                var result = trap.Arm(daemon.Id, write =>
                    wantsSubmit
                        // The first write after a SubmitJob of this run; once nothing is left to submit (20 s without one), any write.
                        ? emulator.RequestsFor(BatchOperations.SubmitJob).Count(r => r.StatusCode == 200) > submitsBefore || DateTime.UtcNow - started > TimeSpan.FromSeconds(20)
                        : write >= nth);
                try
                {
                    // A daemon with nothing new to say writes no snapshot: once the workflow is complete on disk and the
                    // run has had its 20 s, no write is coming, and the trials end (the runs before made the kills).
                    var quiet = await Eventually.WaitAsync(
                        async () => result.IsCompleted || (DateTime.UtcNow - started > TimeSpan.FromSeconds(25) && await CompleteOnDiskAsync(workflow)),
                        done => done, "a snapshot write to kill the daemon in", TimeSpan.FromMinutes(2));
                    if (!result.IsCompleted && quiet)
                    {
                        output.WriteLine($"trial {trial + 1}: the workflow is complete and the daemon writes nothing more; the trials end here");
                        break;
                    }

                    caught = await result;
                }
                catch (TimeoutException)
                {
                    output.WriteLine($"trial {trial + 1}: no snapshot write caught in 2 minutes; {trap.Writes} seen begin; the snapshot was last written at {File.GetLastWriteTimeUtc(snapshotPath):O}, the trial began at {started:O}");
                    Diagnose(daemon);
                    throw;
                }
                finally
                {
                    trap.Disarm();
                }

                await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30));
            }

            var submitted = emulator.RequestsFor(BatchOperations.SubmitJob).Count(r => r.StatusCode == 200) - submitsBefore;
            afterSubmit += wantsSubmit && submitted > 0 ? 1 : 0;
            var stage = caught.Size == 0 ? "created, nothing written" : caught.Size < previousSize * 0.99 ? "partly written" : "written, not yet renamed";
            stages[stage] = stages.GetValueOrDefault(stage) + 1;
            output.WriteLine($"trial {trial + 1}: killed in write {caught.Write} of the run ({caught.Misses} let go): temp file {stage} ({caught.Size} bytes; the snapshot before: {previousSize}), {submitted} jobs submitted in the run");
            Assert.True(File.Exists(Path.Combine(project, caught.TempFile)), "the temp file the kill interrupted is still there");
            await CrashAudit.AssertEverySnapshotParsesAsync(projects);
        }

        WorkflowSnapshot converged;
        var lastStart = DateTimeOffset.UtcNow;
        await using (var daemon = DaemonProcess.Start(_folder.Path, environment, "run"))
        {
            try
            {
                // Seen by this last run: the snapshot a killed run left may already be complete, and a SIGTERM to a
                // daemon still starting up (no handler yet) would end it with 143.
                converged = await TestDaemon.WaitForPassAsync(workflow, lastStart, "convergence after the trials", s => s.Summary.Complete == 2 * (DoneSamples + PendingSamples), TimeSpan.FromMinutes(3));
            }
            catch (TimeoutException)
            {
                output.WriteLine($"the snapshot was last written at {File.GetLastWriteTimeUtc(snapshotPath):O}, the last run began at {lastStart:O}");
                Diagnose(daemon);
                throw;
            }

            // Stopped as systemd stops it, not killed: a kill here could itself interrupt a write and leave a temp file.
            Assert.False(daemon.HasExited, $"the daemon exited by itself with {(daemon.HasExited ? daemon.ExitCode : 0)}: {string.Join("\n", daemon.Stderr.TakeLast(40))}");
            daemon.Terminate();
            var exitCode = await daemon.WaitForExitAsync(TimeSpan.FromSeconds(45));
            Assert.True(exitCode == 0, $"exit code {exitCode} after SIGTERM: {string.Join("\n", daemon.Stderr.TakeLast(40))}\n{string.Join("\n", daemon.Stdout.TakeLast(40))}");
        }

        output.WriteLine($"{emulator.Jobs.Count} jobs; {afterSubmit} kills in a write after SubmitJobs of the run; temp files: {string.Join(", ", stages.Select(kv => $"{kv.Value} {kv.Key}"))}; snapshot {new FileInfo(snapshotPath).Length} bytes");
        Assert.True(afterSubmit >= WriteTrials / 4, $"only {afterSubmit} kills landed in a write after SubmitJobs");
        var unseen = CrashAudit.AssertNoJobLostOrSubmittedTwice(emulator, converged);
        output.WriteLine($"{unseen} jobs finished before any daemon saw them");
        var names = emulator.Jobs.Select(j => j.JobName).Distinct().Count();
        Assert.True(names == 2 * PendingSamples, $"{names} job names, not {2 * PendingSamples}");
        // Each kill left its temp file (checked above); the next start deleted them, and said so.
        Assert.Empty(Directory.GetFiles(project, "*.tmp"));
        Assert.Contains("temp files of big/big.json's snapshot left by writes that were interrupted", LogFiles.Read(_folder.Combine("logs")), StringComparison.Ordinal);
    }

    private static async Task<bool> CompleteOnDiskAsync(string workflow) =>
        await TestDaemon.ReadSnapshotAsync(workflow) is { } snapshot && snapshot.Summary.Complete == 2 * (DoneSamples + PendingSamples);

    /// <summary>What a daemon that stopped making progress was doing: its output, its log and its threads.</summary>
    private void Diagnose(DaemonProcess daemon)
    {
        output.WriteLine($"daemon exited: {daemon.HasExited}{(daemon.HasExited ? $" with {daemon.ExitCode}" : "")}");
        output.WriteLine("stderr: " + string.Join("\n", daemon.Stderr.TakeLast(40)));
        output.WriteLine("stdout: " + string.Join("\n", daemon.Stdout.TakeLast(40)));
        output.WriteLine("log: " + string.Join("\n", LogFiles.Read(_folder.Combine("logs")).Split('\n').TakeLast(60)));
        foreach (var task in Directory.Exists($"/proc/{daemon.Id}/task") ? Directory.GetDirectories($"/proc/{daemon.Id}/task") : [])
        {
            string Read(string name)
            {
                try
                {
                    return File.ReadAllText(Path.Combine(task, name)).Trim();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return "?";
                }
            }

            output.WriteLine($"thread {Path.GetFileName(task)} {Read("comm")}: {Read("stat").Split(' ').ElementAtOrDefault(2)} {Read("wchan")} | {Read("stack").Replace('\n', ' ')}");
        }
    }

    /// <summary>
    /// Freezes the daemon of the current trial when a temp file starting with <c>prefix</c> appears in <c>folder</c>, and
    /// kills it there if the trial's <c>kill(n)</c> says so for the n-th write of the run and the write is provably still
    /// in progress. One watcher serves every trial: watchers of the same folder created and disposed in turn could lose
    /// each other's inotify watch.
    /// </summary>
    private sealed class WriteTrap : IDisposable
    {
        public sealed record Caught(int Write, int Misses, string TempFile, long Size);

        private sealed class Trial(int pid, Func<int, bool> kill)
        {
            public int Pid { get; } = pid;
            public Func<int, bool> Kill { get; } = kill;
            public TaskCompletionSource<Caught> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
            public int Writes { get; set; }
            public int Misses { get; set; }
        }

        private readonly FileSystemWatcher _watcher;
        private readonly object _gate = new();
        private readonly string _folder;
        private readonly string _prefix;
        private Trial? _trial; // guarded by _gate

        public WriteTrap(string folder, string prefix)
        {
            (_folder, _prefix) = (folder, prefix);
            _watcher = new FileSystemWatcher(folder, "*.tmp") { NotifyFilter = NotifyFilters.FileName };
            _watcher.Created += OnCreated;
            _watcher.Error += (_, e) =>
            {
                lock (_gate)
                {
                    _trial?.Result.TrySetException(e.GetException());
                }
            };
            _watcher.EnableRaisingEvents = true;
        }

        /// <summary>Watches the writes of the daemon <paramref name="pid"/> until one is caught.</summary>
        public Task<Caught> Arm(int pid, Func<int, bool> kill)
        {
            lock (_gate)
            {
                _trial = new Trial(pid, kill);
                return _trial.Result.Task;
            }
        }

        /// <summary>The writes the current trial has seen begin so far.</summary>
        public int Writes
        {
            get
            {
                lock (_gate)
                {
                    return _trial?.Writes ?? 0;
                }
            }
        }

        public void Disarm()
        {
            lock (_gate)
            {
                _trial?.Result.TrySetCanceled();
                _trial = null;
            }
        }

        private void OnCreated(object sender, FileSystemEventArgs e)
        {
            if (!e.Name!.StartsWith(_prefix, StringComparison.Ordinal))
            {
                return;
            }

            lock (_gate)
            {
                if (_trial is not { Result.Task.IsCompleted: false } trial)
                {
                    return;
                }

                try
                {
                    Signals.Stop(trial.Pid); // first, before anything that takes time
                    trial.Writes++;
                    if (!Signals.WaitUntilStopped(trial.Pid, TimeSpan.FromSeconds(10)))
                    {
                        throw new TimeoutException($"the daemon (pid {trial.Pid}) did not stop within 10 s of SIGSTOP");
                    }

                    var temp = new FileInfo(Path.Combine(_folder, e.Name));
                    if (temp.Exists && trial.Kill(trial.Writes))
                    {
                        var size = temp.Length;
                        Signals.Kill(trial.Pid);
                        trial.Result.TrySetResult(new Caught(trial.Writes, trial.Misses, e.Name, size));
                        return;
                    }

                    if (!temp.Exists)
                    {
                        trial.Misses++; // the write was over before the daemon stopped
                    }

                    Signals.Continue(trial.Pid);
                }
#pragma warning disable CA1031 // Whatever went wrong ends the trial with that error.
                catch (Exception error)
#pragma warning restore CA1031
                {
                    trial.Result.TrySetException(error);
                }
            }
        }

        public void Dispose()
        {
            Disarm();
            _watcher.Dispose();
        }
    }
}

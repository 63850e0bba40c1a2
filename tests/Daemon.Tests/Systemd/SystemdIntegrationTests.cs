using System.Diagnostics;
using Batchkeeper.BatchEmulator;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Systemd;

/// <summary>The real executable under a pretend systemd: the notify socket, the watchdog, journald lines, SIGTERM.</summary>
public sealed class SystemdIntegrationTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private Dictionary<string, string> Environment(string notifySocket) => new()
    {
        ["NOTIFY_SOCKET"] = notifySocket,
        ["Batchkeeper__ProjectsDirectory"] = _folder.Combine("projects"),
        ["Batchkeeper__LogDirectory"] = _folder.Combine("logs"),
        ["Batchkeeper__Local__WorkDirectory"] = _folder.Combine("work"),
        ["Batchkeeper__ReconcileInterval"] = "00:00:02",
        ["Batchkeeper__RescanInterval"] = "00:00:01",
    };

    private string ReadLog() => LogFiles.Read(_folder.Combine("logs"));

    [Fact]
    public async Task UnderSystemd_SendsReadyStatusWatchdog_LogsForJournald_AndStopsCleanlyOnSigterm()
    {
        using var systemd = new NotifyListener(_folder.Path);
        var project = Demo.CreateProject(_folder.Combine("projects"), "study", ("a", 2), ("b", 3));
        Demo.Drop(Path.Combine(project, "wordcount.json"), Demo.Workflow);
        var environment = Environment(systemd.SocketPath);
        environment["WATCHDOG_USEC"] = "1000000";
        environment["JOURNAL_STREAM"] = "8:12345";

        await using var daemon = DaemonProcess.Start(_folder.Path, environment, "run");
        await systemd.WaitForAsync(m => m.Any(x => x.StartsWith("READY=1", StringComparison.Ordinal)), "READY=1");
        await systemd.WaitForAsync(m => m.Any(x => x.Contains("STATUS=1 workflows, 4/4 slots complete", StringComparison.Ordinal)), "STATUS with the converged counts");
        await systemd.WaitForAsync(_ => systemd.Count("WATCHDOG=1") >= 3, "watchdog pings at half of WATCHDOG_USEC");

        // journald: the syslog level first, no timestamp of the daemon's own; the file keeps its timestamps.
        var info = daemon.Stdout.First(l => l.Contains("Batchkeeper", StringComparison.Ordinal) && l.Contains("started", StringComparison.Ordinal));
        Assert.StartsWith("<6>Batchkeeper ", info, StringComparison.Ordinal);
        Assert.All(daemon.Stdout.Where(l => l.Length > 0 && l[0] == '<'), l => Assert.Matches("^<[2-7]>", l));
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d\d:\d\d \[INF\] Batchkeeper", ReadLog().Split('\n').First(l => l.Contains("started", StringComparison.Ordinal)));

        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(45)));
        Assert.Contains(systemd.Messages, m => m.StartsWith("STOPPING=1", StringComparison.Ordinal));
        var snapshot = await TestDaemon.ReadSnapshotAsync(Path.Combine(project, "wordcount.json"));
        Assert.NotNull(snapshot);
        Assert.Equal(4, snapshot.Summary.Complete);
    }

    [Fact]
    public async Task LocalJobs_DoNotInheritTheNotifySocketOrTheWatchdogVariables()
    {
        using var systemd = new NotifyListener(_folder.Path);
        var project = Demo.CreateProject(_folder.Combine("projects"), "study", ("a", 2));
        Demo.Drop(Path.Combine(project, "env.json"), """
            { "workflow_name": "env", "analyses": [ { "name": "env", "job_definition": "x:1", "queue": "local",
              "command": ["sh", "-c", "printf 'notify=%s watchdog=%s project=%s' \"$NOTIFY_SOCKET\" \"$WATCHDOG_USEC\" \"$BATCHKEEPER_PROJECT\" > env-{sample_name}.tmp && mv env-{sample_name}.tmp env-{sample_name}"],
              "outputs": ["env-{sample_name}"] } ] }
            """);
        var environment = Environment(systemd.SocketPath);
        environment["WATCHDOG_USEC"] = "1000000";

        await using var daemon = DaemonProcess.Start(_folder.Path, environment, "run");
        await TestDaemon.WaitForSnapshotAsync(Path.Combine(project, "env.json"), s => s.Summary.Complete == 1, "the job ran");

        Assert.Equal("notify= watchdog= project=study", File.ReadAllText(Path.Combine(project, "env-a")).Trim());
        Assert.Contains(systemd.Messages, m => m.StartsWith("READY=1", StringComparison.Ordinal)); // the daemon itself still speaks to systemd
        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(45)));
    }

    [Fact]
    public async Task AbstractNotifySocket_IsUnderstood()
    {
        using var systemd = new NotifyListener(_folder.Path, abstractName: true);
        await using var daemon = DaemonProcess.Start(_folder.Path, Environment(systemd.SocketPath), "run");
        await systemd.WaitForAsync(m => m.Any(x => x.StartsWith("READY=1", StringComparison.Ordinal)), "READY=1 on an abstract socket");
        Assert.Equal(0, systemd.Count("WATCHDOG=1"));

        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(45)));
    }

    [Fact]
    public async Task StandbyUnderTypeNotify_SaysReadyWithStandbyStatusWhileItWaits_AndTakesOverWhenTheHolderEnds()
    {
        // A --standby unit under Type=notify must not be killed by TimeoutStartSec while it waits for the lock: it says
        // READY=1 (with STATUS=Standby…) as it starts to wait, long before it can take over.
        var project = Demo.CreateProject(_folder.Combine("projects"), "study", ("a", 2));
        Demo.Drop(Path.Combine(project, "wordcount.json"), Demo.Workflow);
        var activeEnvironment = Environment("");
        activeEnvironment.Remove("NOTIFY_SOCKET");
        await using var active = DaemonProcess.Start(_folder.Path, activeEnvironment, "run");
        await Eventually.WaitAsync(() => ReadLog().Contains("First scan done", StringComparison.Ordinal), "the active daemon holds the folder");

        using var systemd = new NotifyListener(_folder.Path);
        await using var standby = DaemonProcess.Start(_folder.Path, Environment(systemd.SocketPath), "run", "--standby");
        await systemd.WaitForAsync(m => m.Any(x => x.StartsWith("READY=1\nSTATUS=Standby: waiting for the lock", StringComparison.Ordinal)), "READY=1 with the standby's STATUS=");
        Assert.False(active.HasExited);
        Assert.DoesNotContain(systemd.Messages, m => m.Contains("workflows,", StringComparison.Ordinal)); // not yet reconciling

        active.Terminate();
        Assert.Equal(0, await active.WaitForExitAsync(TimeSpan.FromSeconds(45)));
        await systemd.WaitForAsync(m => m.Any(x => x.StartsWith("STATUS=Took over the projects folder", StringComparison.Ordinal)), "the takeover in STATUS=");
        await systemd.WaitForAsync(m => m.Any(x => x.StartsWith("STATUS=1 workflows,", StringComparison.Ordinal)), "the counts once the standby reconciles");

        standby.Terminate();
        Assert.Equal(0, await standby.WaitForExitAsync(TimeSpan.FromSeconds(45)));
        Assert.Contains(systemd.Messages, m => m.StartsWith("STOPPING=1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NotUnderSystemd_ConsoleLinesHaveTimestampsAndNoLevelPrefix()
    {
        var environment = Environment("");
        environment.Remove("NOTIFY_SOCKET");
        await using var daemon = DaemonProcess.Start(_folder.Path, environment, "run");
        await Eventually.WaitAsync(() => daemon.Stdout.Any(l => l.Contains("First scan done", StringComparison.Ordinal)), "the daemon starts");
        Assert.Matches(@"^\d\d:\d\d:\d\d \[INF\] First scan done", daemon.Stdout.First(l => l.Contains("First scan done", StringComparison.Ordinal)));
        Assert.DoesNotContain(daemon.Stdout, l => l.Contains('\u001b', StringComparison.Ordinal)); // a pipe gets no colour codes
        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(45)));
    }

    [Fact]
    public async Task HungPass_StopsTheWatchdogPings()
    {
        // A first pass submits sample a's jobs and writes its snapshot; then Batch accepts every SubmitJob but never
        // answers, and the pass that submits the new sample b hangs far past PassStallAfter.
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions { RunDuration = TimeSpan.FromHours(1) });
        using var systemd = new NotifyListener(_folder.Path);
        var project = Demo.CreateProject(_folder.Combine("projects"), "study", ("a", 2));
        var workflow = Path.Combine(project, "wordcount.json");
        Demo.Drop(workflow, Demo.Workflow);
        var environment = Environment(systemd.SocketPath);
        environment["WATCHDOG_USEC"] = "400000";
        environment["Batchkeeper__PassStallAfter"] = "00:00:02";
        environment["Batchkeeper__Backend"] = "Aws";
        environment["Batchkeeper__Aws__Region"] = "us-east-1";
        environment["Batchkeeper__Aws__BatchServiceUrl"] = emulator.BaseAddress.ToString();
        environment["Batchkeeper__Aws__AttemptTimeout"] = "00:05:00";
        environment["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE";
        const string Secret = "hung-pass-secret-never-logged";
        environment["AWS_SECRET_ACCESS_KEY"] = Secret;

        await using var daemon = DaemonProcess.Start(_folder.Path, environment, "run");
        await systemd.WaitForAsync(_ => systemd.Count("WATCHDOG=1") >= 2, "pings while the loop is healthy");
        var before = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Slots.Count == 2 && s.Slots.All(x => x.JobId is not null), "sample a's jobs in the snapshot");
        emulator.Faults.Update(f => f with { StallRate = 1.0, StallDuration = TimeSpan.FromMinutes(5), Operations = [BatchOperations.SubmitJob] });
        Demo.AddSample(project, "b", 3);
        await Eventually.WaitAsync(() => emulator.RequestsInFlight > 0, "the new sample's SubmitJob, stalled");
        await Eventually.WaitAsync(() => ReadLog().Contains("The reconcile loop looks hung", StringComparison.Ordinal), "the daemon notices its hung pass");

        // From now on systemd must hear nothing: watch for ten ping intervals. Pings sent just before the hang was
        // noticed may still be on their way to the listener, so first wait until the count stands still for five
        // intervals (a daemon that kept pinging never gets there).
        var pings = await StillCountAsync(systemd, "WATCHDOG=1", TimeSpan.FromSeconds(1));
        var watched = Stopwatch.StartNew();
        while (watched.Elapsed < TimeSpan.FromSeconds(2))
        {
            Assert.Equal(pings, systemd.Count("WATCHDOG=1"));
            await Task.Delay(100);
        }

        Assert.Contains("the pass of", ReadLog(), StringComparison.Ordinal);
        Assert.Contains("wordcount.json has run for", ReadLog(), StringComparison.Ordinal);

        // SIGTERM in the middle of the hung pass: the pass is abandoned, the daemon says STOPPING and exits 0 within
        // its shutdown timeout (30 s) rather than waiting for Batch, and no snapshot is left half-written.
        var terminatedAt = DateTimeOffset.UtcNow;
        var stopping = Stopwatch.StartNew();
        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(45)));
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(35), $"stopped after {stopping.Elapsed}");
        Assert.Contains(systemd.Messages, m => m.StartsWith("STOPPING=1", StringComparison.Ordinal));
        Assert.DoesNotContain(emulator.RequestsFor(BatchOperations.SubmitJob), r => r.ReceivedAt > terminatedAt); // nothing new submitted
        var after = await TestDaemon.ReadSnapshotAsync(workflow);
        Assert.NotNull(after); // whole: it parses
        foreach (var slot in before.Slots)
        {
            Assert.Equal(slot.JobId, after.Slots.Single(s => s.Sample == slot.Sample && s.Analysis == slot.Analysis).JobId);
        }

        Assert.DoesNotContain(Secret, ReadLog(), StringComparison.Ordinal);
        Assert.DoesNotContain(daemon.Stdout, l => l.Contains(Secret, StringComparison.Ordinal));
        Assert.DoesNotContain(daemon.Stderr, l => l.Contains(Secret, StringComparison.Ordinal));
    }

    /// <summary>The count of <paramref name="message"/> once it has not changed for <paramref name="still"/>; fails after 30 s.</summary>
    private static async Task<int> StillCountAsync(NotifyListener systemd, string message, TimeSpan still)
    {
        var deadline = Stopwatch.StartNew();
        var count = systemd.Count(message);
        var unchanged = Stopwatch.StartNew();
        while (unchanged.Elapsed < still)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"{message} never stopped arriving ({count} so far)");
            await Task.Delay(50);
            if (systemd.Count(message) is var now && now != count)
            {
                count = now;
                unchanged.Restart();
            }
        }

        return count;
    }
}

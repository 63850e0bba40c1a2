using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Batchkeeper.Daemon.Tests.Systemd;

/// <summary>
/// The service as an administrator runs it: install.sh and the shipped unit under a real systemd (PID 1 of a booted
/// Debian bookworm container, <see cref="BookwormContainer"/>), observed only through systemctl, journalctl and the
/// files the daemon writes. Each test starts from a purged, freshly installed service, so none depends on another.
/// Skipped, with the exact reason, where the machine cannot boot such a container.
/// </summary>
[Trait("Category", "RealSystemd")]
public sealed class RealSystemdTests(BookwormContainer container, ITestOutputHelper output) : IClassFixture<BookwormContainer>
{
    private const string Install = "/srv/deploy/systemd/install.sh --from /srv/publish";
    private const string Projects = "/var/lib/batchkeeper/projects";
    private static readonly TimeSpan ServiceTimeout = TimeSpan.FromSeconds(90);

    [SkippableFact]
    public async Task InstallScript_InstallsAndStarts_UpgradeKeepsTheConfiguration_UninstallKeepsData_PurgeRemovesEverything()
    {
        await PurgeAsync();
        var since = await NowAsync();
        var installed = await container.MustAsync(Install);
        Assert.Contains("installed and started", installed, StringComparison.Ordinal);
        Assert.Equal("enabled", (await container.ExecAsync("systemctl is-enabled batchkeeper")).Output.Trim());
        await WaitActiveAsync();
        Assert.Equal("750 root:batchkeeper", (await container.MustAsync("stat -c '%a %U:%G' /etc/batchkeeper")).Trim());
        Assert.Equal("750 batchkeeper:batchkeeper", (await container.MustAsync("stat -c '%a %U:%G' /var/lib/batchkeeper")).Trim());
        // install.sh and the unit agree on every folder's mode: systemd says nothing about them at start.
        Assert.DoesNotContain("mode is different", await JournalAsync(since), StringComparison.Ordinal);

        // An upgrade: the administrator's configuration is kept, and the restarted daemon runs with it.
        await container.MustAsync("sed -i 's/\"ReconcileInterval\": \"00:00:30\"/\"ReconcileInterval\": \"00:00:31\"/' /etc/batchkeeper/appsettings.json");
        var before = await MainPidAsync();
        since = await NowAsync();
        await container.MustAsync(Install);
        var pid = await WaitActiveAsync();
        Assert.NotEqual(before, pid);
        Assert.Contains("00:00:31", await container.MustAsync("cat /etc/batchkeeper/appsettings.json"), StringComparison.Ordinal);
        await WaitJournalAsync(since, "reconcile every 31 s", "the upgraded daemon reading the kept configuration");

        var uninstalled = await container.MustAsync(Install.Replace("--from /srv/publish", "--uninstall", StringComparison.Ordinal));
        Assert.Contains("configuration, data and logs kept", uninstalled, StringComparison.Ordinal);
        Assert.NotEqual("active", (await container.ExecAsync("systemctl is-active batchkeeper")).Output.Trim());
        await container.MustAsync("test ! -e /etc/systemd/system/batchkeeper.service && test ! -e /opt/batchkeeper");
        await container.MustAsync("test -f /etc/batchkeeper/appsettings.json && test -d /var/lib/batchkeeper/projects && test -d /var/log/batchkeeper && id batchkeeper");
        Assert.Contains("could not be found", (await container.ExecAsync("systemctl status batchkeeper")).Output, StringComparison.Ordinal);

        var purged = await container.MustAsync("/srv/deploy/systemd/install.sh --uninstall --purge");
        Assert.Contains("with its configuration, data and logs", purged, StringComparison.Ordinal);
        await container.MustAsync("test ! -e /etc/batchkeeper && test ! -e /var/lib/batchkeeper && test ! -e /var/log/batchkeeper && ! id batchkeeper 2>/dev/null");
    }

    [SkippableFact]
    public async Task Start_IsActiveOnlyOnceReady_ShowsTheStatusLine_AndTheDemoConvergesInTheProjectsFolder()
    {
        var since = await FreshInstallAsync();
        await DropDemoAsync("demo");
        var snapshot = await WaitSnapshotAsync("demo/wordcount", s => Complete(s) == 6, "the demo's 6 slots complete");
        Assert.Equal(6, snapshot.GetProperty("summary").GetProperty("total").GetInt32());
        foreach (var sample in new[] { "alpha", "beta", "gamma" })
        {
            Assert.Matches($"^{sample} .*: [0-9]+ words", await container.MustAsync($"cat {Projects}/demo/results/{sample}.report.txt"));
        }

        var show = await ShowAsync("ActiveState", "SubState", "Type", "NRestarts", "WatchdogUSec", "User");
        Assert.Equal("active", show["ActiveState"]);
        Assert.Equal("running", show["SubState"]);
        Assert.Equal("notify", show["Type"]);
        Assert.Equal("0", show["NRestarts"]);
        Assert.Equal("batchkeeper", show["User"]);
        Assert.Equal("1min", show["WatchdogUSec"]); // the shipped value (the watchdog test shortens it in a drop-in)

        // Type=notify: systemd says "Started" only after READY=1.
        await WaitJournalAsync(since, "Started batchkeeper.service", "systemd's word that the daemon said READY=1");
        var status = await Eventually.WaitAsync(
            Paced(async () => (await container.ExecAsync("systemctl status batchkeeper --no-pager --lines=0")).Output),
            s => s?.Contains("6/6", StringComparison.Ordinal) == true && s.Contains("Status: \"", StringComparison.Ordinal),
            "the daemon's STATUS= line with the converged demo in systemctl status", ServiceTimeout);
        output.WriteLine(status);
    }

    [SkippableFact]
    public async Task StatusPage_IsServedOnLoopbackUnderTheHardenedUnit_AndHealthzSaysOk()
    {
        var since = await FreshInstallAsync();
        await DropDemoAsync("demo");
        await WaitSnapshotAsync("demo/wordcount", s => Complete(s) == 6, "the demo's 6 slots complete");
        await WaitJournalAsync(since, "Status page at http://127.0.0.1:8421/", "the daemon's line naming the page's address");

        // No curl in a minimal Debian: bash's /dev/tcp, HTTP/1.0, inside the container's own network namespace.
        static string Get(string path) =>
            $"bash -c 'exec 3<>/dev/tcp/127.0.0.1/8421 && printf \"GET {path} HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n\" >&3 && cat <&3'";
        var health = await container.MustAsync(Get("/healthz"));
        Assert.StartsWith("HTTP/1.1 200 OK", health, StringComparison.Ordinal);
        Assert.EndsWith("\nok\n", health.Replace("\r", "", StringComparison.Ordinal), StringComparison.Ordinal);
        var daemon = await container.MustAsync(Get("/api/daemon"));
        Assert.Contains("\"lock\": \"held\"", daemon, StringComparison.Ordinal);
        Assert.Contains("\"pid\": " + await MainPidAsync(), daemon, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Journal_FilesTheDaemonsLevels_InfoAt6_WarningAt4_ErrorAt3()
    {
        var since = await FreshInstallAsync();

        // A warning: a workflow that cannot be used.
        await DropAsync("broken", new()
        {
            ["broken.json"] = """{ "workflow_name": "broken", "analyses": [ { "job_definition": "x:1", "outputs": ["out"] } ] }""",
        });
        // An error: a project folder the daemon may read but not write, so its snapshot cannot be written.
        await DropAsync("locked", new()
        {
            ["metadata.csv"] = "sample_name\ns1\n",
            ["locked.json"] = """{ "workflow_name": "locked", "analyses": [ { "job_definition": "x:1", "queue": "local", "command": ["true"], "outputs": ["out-{sample_name}"] } ] }""",
        }, owner: "root:root");

        var warnings = await WaitJournalAsync(since, "broken.json", "the invalid workflow's warning at priority 4", priority: "4..4");
        Assert.Contains("queue", warnings, StringComparison.Ordinal);
        Assert.Contains("broken.json", await JournalAsync(since, "warning"), StringComparison.Ordinal); // journalctl -p warning, as people type it
        var errors = await WaitJournalAsync(since, "locked", "the snapshot write failure's error at priority 3", priority: "3..3");
        Assert.Contains("snapshot", errors, StringComparison.Ordinal);
        var info = await WaitJournalAsync(since, "started", "the start line at priority 6", priority: "6..6");
        Assert.Contains("Batchkeeper", info, StringComparison.Ordinal);

        // Each line at its own level only.
        var warning = warnings.Split('\n').First(l => l.Contains("broken.json", StringComparison.Ordinal));
        var error = errors.Split('\n').First(l => l.Contains("locked", StringComparison.Ordinal));
        Assert.DoesNotContain(warning, (await JournalAsync(since, "6..6")).Split('\n'));
        Assert.DoesNotContain(warning, (await JournalAsync(since, "3..3")).Split('\n'));
        Assert.DoesNotContain(error, (await JournalAsync(since, "4..4")).Split('\n'));
        // The level prefix is read by journald, not left in the message.
        Assert.DoesNotContain(
            (await JournalAsync(since)).Split('\n'),
            line => line.StartsWith("<3>", StringComparison.Ordinal) || line.StartsWith("<4>", StringComparison.Ordinal) || line.StartsWith("<6>", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task KilledWithSigkill_IsRestartedBySystemd()
    {
        var since = await FreshInstallAsync();
        var pid = await MainPidAsync();
        await container.MustAsync($"kill -9 {pid}");
        var restarted = await WaitRestartedAsync(pid);
        await WaitJournalAsync(since, "status=9/KILL", "systemd noticing the SIGKILL");
        Assert.True(int.Parse((await ShowAsync("NRestarts"))["NRestarts"], CultureInfo.InvariantCulture) >= 1);
        output.WriteLine($"killed {pid}, restarted as {restarted}");
    }

    [SkippableFact]
    public async Task StoppedWithSigstop_TheWatchdogKillsItAndSystemdRestartsIt()
    {
        // The shipped WatchdogSec=60 is checked in the start test; here a drop-in shortens it to keep the suite short.
        // TimeoutAbortSec (15 s) and RestartSec (10 s) are the shipped ones.
        await FreshInstallAsync();
        await container.MustAsync(
            "mkdir -p /etc/systemd/system/batchkeeper.service.d && printf '[Service]\\nWatchdogSec=10s\\n' > /etc/systemd/system/batchkeeper.service.d/test-watchdog.conf"
            + " && systemctl daemon-reload && systemctl restart batchkeeper");
        try
        {
            await WaitActiveAsync();
            Assert.Equal("10s", (await ShowAsync("WatchdogUSec"))["WatchdogUSec"]);
            var since = await NowAsync();
            var pid = await MainPidAsync();
            await container.MustAsync($"kill -STOP {pid}");
            var clock = Stopwatch.StartNew();
            var restarted = await WaitRestartedAsync(pid, TimeSpan.FromSeconds(120));
            var journal = await JournalAsync(since);
            Assert.Contains("Watchdog timeout", journal, StringComparison.Ordinal);
            output.WriteLine($"stopped {pid}, restarted as {restarted} after {clock.Elapsed.TotalSeconds:0} s");
        }
        finally
        {
            await container.ExecAsync("rm -rf /etc/systemd/system/batchkeeper.service.d && systemctl daemon-reload");
        }
    }

    [SkippableFact]
    public async Task Reload_OnAMinimalSystem_ReconcilesEveryWorkflowAtOnce()
    {
        // Scheduled passes an hour apart: any pass after the reload is the reload's.
        await FreshInstallAsync("Batchkeeper__ReconcileInterval=01:00:00\n");
        await container.MustAsync("test ! -e /bin/kill"); // no procps: the unit must not need it
        string[] projects = ["one", "two", "three"];
        foreach (var project in projects)
        {
            await DropDemoAsync(project);
        }

        foreach (var project in projects)
        {
            await WaitSnapshotAsync(project + "/wordcount", s => Complete(s) == 6, $"{project} converged");
        }

        var reloadAt = DateTimeOffset.Parse((await container.MustAsync("date -u +%Y-%m-%dT%H:%M:%S.%NZ")).Trim(), CultureInfo.InvariantCulture);
        var reload = await container.ExecAsync("systemctl reload batchkeeper");
        Assert.True(reload.Code == 0, "systemctl reload failed: " + reload.Output);
        foreach (var project in projects)
        {
            // The snapshot of a converged workflow is not rewritten; the heartbeat's row says when its last pass began.
            await Eventually.WaitAsync(() => Task.FromResult(LastPassAt(project + "/wordcount")), at => at > reloadAt, $"{project} reconciled after the reload", TimeSpan.FromSeconds(20));
        }

        Assert.Equal("active", (await ShowAsync("ActiveState"))["ActiveState"]);
    }

    [SkippableFact]
    public async Task Stop_DuringPasses_IsCleanWithinTimeoutStopSec_LeavesTheUnitInactive_AndWritesTheSnapshots()
    {
        await FreshInstallAsync("Batchkeeper__ReconcileInterval=01:00:00\n");
        await DropDemoAsync("demo");
        await WaitSnapshotAsync("demo/wordcount", s => Complete(s) == 6, "the demo converged");
        // Two jobs that outlast the stop, on both of the local backend's job slots.
        await DropAsync("slow", new()
        {
            ["metadata.csv"] = "sample_name\ns1\ns2\n",
            ["slow.json"] = """{ "workflow_name": "slow", "analyses": [ { "job_definition": "x:1", "queue": "local", "command": ["sleep", "600"], "outputs": ["out-{sample_name}"] } ] }""",
        });
        // The snapshot says so only at the next pass (an hour away): look at the processes.
        await Eventually.WaitAsync(Paced(SleepProcessesAsync), p => p?.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == 2,
            "both slow jobs running", ServiceTimeout);

        var timeoutStop = (await ShowAsync("TimeoutStopUSec"))["TimeoutStopUSec"];
        Assert.Equal("45s", timeoutStop);
        var before = await NowAsync();
        // SIGHUP starts a pass of every workflow, SIGTERM follows at once: the passes are in flight when it arrives.
        var clock = Stopwatch.StartNew();
        var stop = await container.ExecAsync("systemctl reload batchkeeper && systemctl stop batchkeeper", TimeSpan.FromSeconds(90));
        var took = clock.Elapsed;
        Assert.True(stop.Code == 0, stop.Output);
        Assert.True(took < TimeSpan.FromSeconds(45), $"systemctl stop took {took.TotalSeconds:0.0} s, TimeoutStopSec is 45 s");

        var show = await ShowAsync("ActiveState", "Result", "ExecMainCode", "ExecMainStatus");
        Assert.Equal("inactive", show["ActiveState"]);
        Assert.Equal("success", show["Result"]);
        Assert.Equal("0", show["ExecMainStatus"]);
        var journal = await JournalAsync(before);
        Assert.DoesNotContain("timed out", journal, StringComparison.Ordinal);
        Assert.DoesNotContain("Failed with result", journal, StringComparison.Ordinal);

        // Every snapshot is whole, each workflow had a pass in this last run (the snapshot is rewritten only if that
        // pass changed something), no temp file is left beside them, and the heartbeat says the daemon stopped.
        foreach (var workflow in new[] { "demo/wordcount", "slow/slow" })
        {
            _ = ReadSnapshot(workflow) ?? throw new InvalidOperationException($"no readable snapshot of {workflow}");
            Assert.True(LastPassAt(workflow) >= before, $"{workflow}: the last pass began at {LastPassAt(workflow):O}, before the stop at {before:O}");
        }

        var stoppedAt = ReadDashboard()?.GetProperty("stopped_at").GetString();
        Assert.True(stoppedAt is not null && DateTimeOffset.Parse(stoppedAt, CultureInfo.InvariantCulture) >= before, $"the dashboard's stopped_at is {stoppedAt ?? "null"}");

        Assert.Equal("", (await container.MustAsync($"find {Projects} -name '*.tmp'")).Trim());
        // The jobs went with the daemon: nothing of the unit is left running.
        Assert.Equal("", await SleepProcessesAsync());
    }

    [SkippableFact]
    public async Task Hardening_AJobWritingToEtc_FailsWithAClearMessage_AndTheDaemonCarriesOn()
    {
        await FreshInstallAsync();
        var pid = await MainPidAsync();
        await DropAsync("escape", new()
        {
            ["metadata.csv"] = "sample_name\ns1\n",
            ["escape.json"] = """
                { "workflow_name": "escape", "analyses": [ { "job_definition": "x:1", "queue": "local",
                  "command": ["sh", "-c", "echo x > /etc/x"], "outputs": ["file:///etc/x"], "retry": { "max_attempts": 1 } } ] }
                """,
        });
        await DropDemoAsync("demo");

        var failed = await WaitSnapshotAsync("escape/escape", s => s.GetProperty("summary").GetProperty("failed").GetInt32() == 1, "the job writing /etc/x failed for good");
        var slot = failed.GetProperty("slots")[0];
        Assert.Equal("failed_permanently", slot.GetProperty("state").GetString());
        Assert.Contains("exit code", slot.GetProperty("message").GetString(), StringComparison.Ordinal);
        var log = await container.MustAsync($"cat '{slot.GetProperty("log_stream").GetString()}'");
        Assert.Contains("Read-only file system", log, StringComparison.Ordinal);
        await container.MustAsync("test ! -e /etc/x");

        // The daemon itself is untouched: same process, and the other workflow converges.
        await WaitSnapshotAsync("demo/wordcount", s => Complete(s) == 6, "the demo converged beside it");
        var show = await ShowAsync("ActiveState", "MainPID", "NRestarts");
        Assert.Equal(("active", pid.ToString(CultureInfo.InvariantCulture), "0"), (show["ActiveState"], show["MainPID"], show["NRestarts"]));
    }

    // ---- helpers: what an administrator types, and reading what the daemon wrote ----

    private async Task PurgeAsync()
    {
        if (container.SkipReason is not null && Environment.GetEnvironmentVariable("BATCHKEEPER_REQUIRE_REAL_SYSTEMD") == "1")
        {
            // For a machine known to boot the container: a skip there would hide a regression of the tests' own set-up.
            throw new InvalidOperationException("BATCHKEEPER_REQUIRE_REAL_SYSTEMD=1, but: " + container.SkipReason);
        }

        Skip.If(container.SkipReason is not null, container.SkipReason);
        if (container.Timings.Length > 0)
        {
            output.WriteLine($"container {container.MachineName}: {container.Timings}");
        }

        await container.ExecAsync(
            "/srv/deploy/systemd/install.sh --uninstall --purge; rm -rf /etc/systemd/system/batchkeeper.service.d /root/stage;"
            + " systemctl daemon-reload; systemctl reset-failed batchkeeper 2>/dev/null; true");
    }

    /// <summary>Purges any earlier install, installs (with an environment file first, if given) and waits for the service.</summary>
    private async Task<DateTimeOffset> FreshInstallAsync(string? environment = null)
    {
        await PurgeAsync();
        var since = await NowAsync();
        if (environment is not null)
        {
            Directory.CreateDirectory(container.HostPath("/etc/batchkeeper"));
            await File.WriteAllTextAsync(container.HostPath("/etc/batchkeeper/environment"), environment);
        }

        var (code, text) = await container.ExecAsync(Install);
        if (code != 0)
        {
            var journal = await container.ExecAsync("journalctl -u batchkeeper --no-pager -n 15");
            throw new InvalidOperationException($"install.sh failed with exit code {code}:\n{text}\nThe unit's journal:\n{journal.Output}");
        }

        await WaitActiveAsync();
        return since;
    }

    private async Task<int> WaitActiveAsync()
    {
        var show = await Eventually.WaitAsync(
            Paced(() => ShowAsync("ActiveState", "MainPID")),
            s => s?["ActiveState"] == "active" && s["MainPID"] != "0",
            "batchkeeper.service active", ServiceTimeout);
        return int.Parse(show["MainPID"], CultureInfo.InvariantCulture);
    }

    private async Task<int> WaitRestartedAsync(int oldPid, TimeSpan? timeout = null)
    {
        var show = await Eventually.WaitAsync(
            Paced(() => ShowAsync("ActiveState", "MainPID")),
            s => s?["ActiveState"] == "active" && s["MainPID"] != "0" && s["MainPID"] != oldPid.ToString(CultureInfo.InvariantCulture),
            $"batchkeeper.service active again with a process other than {oldPid}", timeout ?? ServiceTimeout);
        return int.Parse(show["MainPID"], CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// A probe for <see cref="Eventually"/> that asks the container at most every 250 ms: each look starts nsenter and
    /// systemctl or journalctl, which a loaded 2-core machine should not run 20 times a second.
    /// </summary>
    private static Func<Task<T?>> Paced<T>(Func<Task<T>> probe) => async () =>
    {
        await Task.Delay(250);
        return await probe();
    };

    /// <summary>The container's sleep processes (no procps on a minimal system: /proc it is).</summary>
    private async Task<string> SleepProcessesAsync() =>
        (await container.MustAsync("grep -l '^sleep$' /proc/[0-9]*/comm 2>/dev/null || true")).Trim();

    private async Task<int> MainPidAsync() => int.Parse((await ShowAsync("MainPID"))["MainPID"], CultureInfo.InvariantCulture);

    private async Task<Dictionary<string, string>> ShowAsync(params string[] properties)
    {
        var text = await container.MustAsync("systemctl show batchkeeper " + string.Join(' ', properties.Select(p => "-p " + p)));
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "", StringComparer.Ordinal);
    }

    private async Task<DateTimeOffset> NowAsync() =>
        DateTimeOffset.FromUnixTimeMilliseconds(long.Parse((await container.MustAsync("date +%s%3N")).Trim(), CultureInfo.InvariantCulture));

    /// <summary>The unit's journal since a moment (messages only), optionally of a priority range such as "4..4".</summary>
    private async Task<string> JournalAsync(DateTimeOffset since, string? priority = null)
    {
        var range = priority is null ? "" : " -p " + priority;
        return await container.MustAsync(
            $"journalctl -u batchkeeper --no-pager -o cat{range} --since @{since.ToUnixTimeMilliseconds() / 1000.0 - 1:0.000}".Replace(',', '.'));
    }

    private Task<string> WaitJournalAsync(DateTimeOffset since, string text, string what, string? priority = null) =>
        Eventually.WaitAsync(Paced(() => JournalAsync(since, priority)), j => j?.Contains(text, StringComparison.Ordinal) == true, what, ServiceTimeout);

    /// <summary>Drops a project as an administrator does: made aside, owned by the service's user, moved into the projects folder at once.</summary>
    private async Task DropAsync(string project, Dictionary<string, string> files, string owner = "batchkeeper:batchkeeper")
    {
        var stage = $"/root/stage/{project}";
        Directory.CreateDirectory(container.HostPath(stage));
        foreach (var (name, content) in files)
        {
            await File.WriteAllTextAsync(container.HostPath($"{stage}/{name}"), content);
        }

        await container.MustAsync($"chown -R {owner} {stage} && chmod 755 {stage} && mv {stage} {Projects}/{project}");
    }

    private async Task DropDemoAsync(string project)
    {
        var stage = $"/root/stage/{project}";
        await container.MustAsync(
            $"mkdir -p {stage} && cp -r /srv/demo/inputs /srv/demo/metadata.csv /srv/demo/wordcount.json {stage}/"
            + $" && chown -R batchkeeper:batchkeeper {stage} && mv {stage} {Projects}/{project}");
    }

    private JsonElement? ReadSnapshot(string workflow) => ReadJson($"{workflow}.status.json");

    private JsonElement? ReadDashboard() => ReadJson("dashboard.json");

    /// <summary>A file of the projects folder in the container, as JSON; null while it is missing or half there.</summary>
    private JsonElement? ReadJson(string file)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(container.HostPath($"{Projects}/{file}")));
            return document.RootElement.Clone();
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>When the daemon last began a pass of <paramref name="workflow"/>, from its row in the heartbeat.</summary>
    private DateTimeOffset? LastPassAt(string workflow) =>
        ReadDashboard() is { } dashboard
        && dashboard.GetProperty("workflows").EnumerateArray().FirstOrDefault(r => r.GetProperty("file").GetString() == workflow + ".json") is { ValueKind: JsonValueKind.Object } row
            ? DateTimeOffset.Parse(row.GetProperty("reconciled_at").GetString()!, CultureInfo.InvariantCulture)
            : null;

    private async Task<JsonElement> WaitSnapshotAsync(string workflow, Func<JsonElement, bool> done, string what, TimeSpan? timeout = null) =>
        (await Eventually.WaitAsync(() => Task.FromResult(ReadSnapshot(workflow)), s => s is { } v && done(v), what, timeout ?? ServiceTimeout))!.Value;

    private static int Complete(JsonElement snapshot) => snapshot.GetProperty("summary").GetProperty("complete").GetInt32();
}

using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Security;

/// <summary>
/// The real executable: every configuration error is one line naming the setting, the value and what is allowed,
/// with exit 2 and no stack trace; bad local job records do not stop it.
/// </summary>
public sealed class DaemonFailureExitTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private Dictionary<string, string> Environment(params (string Key, string Value)[] settings)
    {
        var environment = new Dictionary<string, string>
        {
            ["Batchkeeper__ProjectsDirectory"] = _folder.Combine("projects"),
            ["Batchkeeper__LogDirectory"] = _folder.Combine("logs"),
            ["Batchkeeper__Local__WorkDirectory"] = _folder.Combine("work"),
        };
        foreach (var (key, value) in settings)
        {
            environment[key] = value;
        }

        return environment;
    }

    public static TheoryData<string, string, string> BadSettings => new()
    {
        { "Batchkeeper__ReconcileInterval", "10675199.00:00:00", "Batchkeeper:ReconcileInterval: 10675199.00:00:00 is not allowed: expected 00:00:01 to 1.00:00:00" },
        { "Batchkeeper__RescanInterval", "99999.00:00:00", "Batchkeeper:RescanInterval: 99999.00:00:00 is not allowed: expected 00:00:00.1000000 to 01:00:00" },
        { "Batchkeeper__Retry__Backoff", "-00:01:00", "Batchkeeper:Retry:Backoff: -00:01:00 is not allowed: expected 00:00:00 to 1.00:00:00" },
        { "Batchkeeper__OutputGracePeriod", "-00:00:01", "Batchkeeper:OutputGracePeriod: -00:00:01 is not allowed" },
        { "Batchkeeper__SettleTime", "-00:00:01", "Batchkeeper:SettleTime: -00:00:01 is not allowed" },
        { "Batchkeeper__PassStallAfter", "-00:00:01", "Batchkeeper:PassStallAfter: -00:00:01 is not allowed" },
        { "Batchkeeper__ReconcileInterval", "soon", "Batchkeeper:ReconcileInterval: 'soon' is not allowed: expected a time span such as 00:00:30" },
        { "Batchkeeper__PassConcurrency", "0", "Batchkeeper:PassConcurrency: 0 is not allowed: expected 1 to 256" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public async Task ABadSetting_IsOneLineNamingSettingValueAndBounds_ExitTwo_NoStackTrace(string key, string value, string expected)
    {
        await using var daemon = DaemonProcess.Start(_folder.Path, Environment((key, value)), "run");
        Assert.Equal(2, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var errors = daemon.Stderr.Where(l => l.Length > 0).ToArray();
        Assert.True(errors.Length == 1, $"expected one line, got:\n{string.Join("\n", errors)}");
        Assert.Contains(expected, errors[0], StringComparison.Ordinal);
        Assert.DoesNotContain(daemon.Stdout.Concat(daemon.Stderr), l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FolderSettings_ThatAreFilesUnderFilesOrUnwritable_AreStartUpErrors_ExitTwo()
    {
        var file = _folder.Combine("a-file");
        await File.WriteAllTextAsync(file, "x");
        var cases = new (string Key, string Value, string Expected)[]
        {
            ("Batchkeeper__ProjectsDirectory", file, $"Batchkeeper:ProjectsDirectory: '{file}' is a file: expected a folder"),
            ("Batchkeeper__LogDirectory", Path.Combine(file, "logs"), $"Batchkeeper:LogDirectory: '{Path.Combine(file, "logs")}' is under the file '{file}'"),
            ("Batchkeeper__Local__WorkDirectory", Path.Combine(file, "work"), $"Batchkeeper:Local:WorkDirectory: '{Path.Combine(file, "work")}' is under the file '{file}'"),
            ("Batchkeeper__LogDirectory", "/proc/batchkeeper-logs", "Batchkeeper:LogDirectory: '/proc/batchkeeper-logs' cannot be written"),
        };
        foreach (var (key, value, expected) in cases)
        {
            await using var daemon = DaemonProcess.Start(_folder.Path, Environment((key, value)), "run");
            Assert.Equal(2, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains(daemon.Stderr, l => l.Contains(expected, StringComparison.Ordinal));
            Assert.DoesNotContain(daemon.Stdout.Concat(daemon.Stderr), l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task LocalJobRecords_WithANullIdOrAnEmptyCommand_AreSkippedWithAWarning_AndTheDaemonRunsAndStopsCleanly()
    {
        var jobs = _folder.Combine("work", "jobs");
        Directory.CreateDirectory(jobs);
        await File.WriteAllTextAsync(Path.Combine(jobs, "null-id.json"), """{"jobId":null}""");
        var id = Guid.NewGuid().ToString();
        await File.WriteAllTextAsync(Path.Combine(jobs, id + ".json"), $$"""
            {"jobId":"{{id}}","jobName":"bk-x","queue":"local","jobDefinition":"d:1","command":[],"environment":{},"dependsOn":[],
             "workingDirectory":"/tmp","context":{"project":"p","workflow":"w","sample":"s","analysis":"a"},"status":"Runnable",
             "createdAt":"2026-01-01T00:00:00Z","logPath":"/tmp/x.log"}
            """);
        Demo.CreateProject(_folder.Combine("projects"), "good", ("g1", 2));
        Demo.Drop(_folder.Combine("projects", "good", "wordcount.json"), Demo.Workflow);

        await using var daemon = DaemonProcess.Start(_folder.Path, Environment(), "run");
        await TestDaemon.WaitForSnapshotAsync(_folder.Combine("projects", "good", "wordcount.json"), s => s.Summary.Complete == 2, "the daemon runs jobs");
        Assert.False(daemon.HasExited, "the daemon stopped");
        var log = LogFiles.Read(_folder.Combine("logs"));
        Assert.Contains("null-id.json cannot be read and is skipped: not a usable job record: jobId", log, StringComparison.Ordinal);
        Assert.Contains($"{id}.json cannot be read and is skipped: not a usable job record: command", log, StringComparison.Ordinal);
        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(40)));
    }

    [Fact]
    public async Task WhenTheLocalBackendCannotWriteItsJobRecords_TheDaemonStops_WithANonZeroExitCode_SoSystemdRestartsIt()
    {
        var project = _folder.Combine("projects", "slow");
        Directory.CreateDirectory(project);
        await File.WriteAllTextAsync(Path.Combine(project, "metadata.csv"), "sample_name\na\nb\n");
        var gate = _folder.Combine("gate");
        Demo.Drop(Path.Combine(project, "w.json"), $$"""
            { "workflow_name": "w", "analyses": [ { "name": "a", "job_definition": "d:1", "queue": "local",
              "command": ["sh", "-c", "while [ ! -f {{gate}} ]; do sleep 0.05; done; mkdir -p out && touch out/{sample_name}"],
              "outputs": ["out/{sample_name}"] } ] }
            """);
        await using var daemon = DaemonProcess.Start(_folder.Path, Environment(("Batchkeeper__Local__MaxConcurrentJobs", "1")), "run");
        var jobs = _folder.Combine("work", "jobs");
        await Eventually.WaitAsync(() => Directory.Exists(jobs) && Directory.GetFiles(jobs).Length == 2, "both jobs are submitted, one waits for the other");

        // The work directory becomes unusable (as a full or vanished disk would make it): the next record write fails.
        // Moved, not deleted: the daemon may be writing a record into it at this moment.
        Directory.Move(jobs, jobs + "-gone");
        await File.WriteAllTextAsync(jobs, "not a folder");
        await File.WriteAllTextAsync(gate, "");

        var exit = await daemon.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(exit != 0, $"exit code {exit}");
        Assert.Contains(daemon.Stderr, l => l.Contains("the daemon stopped because something broke: LocalJobScheduler", StringComparison.Ordinal));
    }
}

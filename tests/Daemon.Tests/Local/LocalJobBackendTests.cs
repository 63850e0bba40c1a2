using System.Text.Json;
using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Reconciliation;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Local;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Batchkeeper.Daemon.Tests.Local;

/// <summary>The local backend with real processes: Batch's state machine, logs, limits and restarts.</summary>
public sealed class LocalJobBackendTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private LocalBackend NewBackend(int maxConcurrent = 2, TimeProvider? clock = null) => new(Options.Create(new BatchkeeperOptions
    {
        Local = new LocalOptions { MaxConcurrentJobs = maxConcurrent, WorkDirectory = _folder.Combine("work") },
    }), clock ?? TimeProvider.System);

    private JobSubmission Job(string name, string[] command, string[]? dependsOn = null, Dictionary<string, string>? parameters = null, int? timeout = null) =>
        new(name, new JobTemplate("local", "def:1", parameters ?? [], command, new Dictionary<string, string> { ["GREETING"] = "hello" },
            null, null, timeout, new Dictionary<string, string>()), dependsOn ?? [], _folder.Path, new JobContext("p", "w", "s", "a"));

    private static async Task<JobDetail> WaitForAsync(IJobBackend backend, string id, Func<JobDetail, bool> done, string what) =>
        await Eventually.WaitAsync(async () => (await backend.DescribeAsync([id], CancellationToken.None)).SingleOrDefault(), d => d is not null && done(d), what);

    [Fact]
    public async Task Job_RunsInTheProjectFolder_WithItsEnvironmentAndParameters_AndLogsItsOutput()
    {
        using var backend = NewBackend();
        await backend.StartAsync(CancellationToken.None);
        var id = await backend.SubmitAsync(Job("one", ["sh", "-c", "echo \"$GREETING Ref::who from $(pwd)\"; echo oops >&2; echo done > marker"],
            parameters: new() { ["who"] = "world" }), CancellationToken.None);

        var detail = await WaitForAsync(backend, id, d => !d.Status.IsActive(), "the job finishes");
        Assert.Equal(JobStatus.Succeeded, detail.Status);
        Assert.Equal(0, detail.ExitCode);
        Assert.NotNull(detail.StartedAt);
        Assert.NotNull(detail.StoppedAt);
        Assert.True(File.Exists(_folder.Combine("marker")));
        var log = await File.ReadAllTextAsync(detail.LogStream!);
        Assert.Contains($"hello world from {_folder.Path}", log, StringComparison.Ordinal);
        Assert.Contains("oops", log, StringComparison.Ordinal);
        await backend.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Dependant_WaitsPending_ThenFailsWhenItsDependencyFails()
    {
        using var backend = NewBackend();
        await backend.StartAsync(CancellationToken.None);
        var gate = _folder.Combine("go");
        var first = await backend.SubmitAsync(Job("first", ["sh", "-c", $"while [ ! -f {gate} ]; do sleep 0.05; done; exit 4"]), CancellationToken.None);
        var second = await backend.SubmitAsync(Job("second", ["true"], dependsOn: [first]), CancellationToken.None);

        await WaitForAsync(backend, first, d => d.Status == JobStatus.Running, "the first job runs");
        var waiting = await WaitForAsync(backend, second, d => d.Status == JobStatus.Pending, "the dependant waits");
        Assert.Null(waiting.StartedAt);

        await File.WriteAllTextAsync(gate, "");
        var failed = await WaitForAsync(backend, first, d => d.Status == JobStatus.Failed, "the first job fails");
        Assert.Equal(4, failed.ExitCode);
        var dependant = await WaitForAsync(backend, second, d => d.Status == JobStatus.Failed, "the dependant fails");
        Assert.Equal("Dependent Job failed", dependant.StatusReason);
        Assert.Null(dependant.StartedAt);
        await backend.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task ConcurrencyLimit_KeepsExtraJobsRunnable()
    {
        using var backend = NewBackend(maxConcurrent: 1);
        await backend.StartAsync(CancellationToken.None);
        var gate = _folder.Combine("go");
        var first = await backend.SubmitAsync(Job("first", ["sh", "-c", $"while [ ! -f {gate} ]; do sleep 0.05; done"]), CancellationToken.None);
        var second = await backend.SubmitAsync(Job("second", ["true"]), CancellationToken.None);

        await WaitForAsync(backend, first, d => d.Status == JobStatus.Running, "the first job runs");
        await WaitForAsync(backend, second, d => d.Status == JobStatus.Runnable, "the second job waits for a free slot");

        await File.WriteAllTextAsync(gate, "");
        await WaitForAsync(backend, second, d => d.Status == JobStatus.Succeeded, "the second job runs once the first is done");
        await backend.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Terminate_KillsTheProcess_AndRecordsTheReason()
    {
        using var backend = NewBackend();
        await backend.StartAsync(CancellationToken.None);
        var id = await backend.SubmitAsync(Job("long", ["sleep", "60"]), CancellationToken.None);
        await WaitForAsync(backend, id, d => d.Status == JobStatus.Running, "the job runs");

        await backend.TerminateAsync(id, "Cancelled by batchkeeper: test", CancellationToken.None);
        var detail = await WaitForAsync(backend, id, d => d.Status == JobStatus.Failed, "the job is failed");
        Assert.Equal("Cancelled by batchkeeper: test", detail.StatusReason);
        await backend.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Timeout_KillsTheJob()
    {
        using var backend = NewBackend();
        await backend.StartAsync(CancellationToken.None);
        var id = await backend.SubmitAsync(Job("slow", ["sleep", "60"], timeout: 1), CancellationToken.None);
        var detail = await WaitForAsync(backend, id, d => d.Status == JobStatus.Failed, "the job times out");
        Assert.Equal("Job attempt duration exceeded timeout", detail.StatusReason);
        await backend.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Timeout_IsMeasuredOnTheTimeProvider_SoAJobTimesOutWhenItsClockSaysSo()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var backend = NewBackend(clock: clock);
        await backend.StartAsync(CancellationToken.None);
        var id = await backend.SubmitAsync(Job("slow", ["sleep", "60"], timeout: 3600), CancellationToken.None);
        await WaitForAsync(backend, id, d => d.Status == JobStatus.Running, "the job runs");

        // An hour passes on the backend's clock (not on the wall's): its next tick, also on that clock, kills the job.
        clock.Advance(TimeSpan.FromHours(1));
        var detail = await WaitForAsync(backend, id, d => !d.Status.IsActive(), "the job times out");
        Assert.Equal(("Job attempt duration exceeded timeout", 137), (detail.StatusReason, detail.ExitCode));
        Assert.Equal(clock.GetUtcNow(), detail.StoppedAt);
        await backend.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task MissingProgram_FailsAsCannotStart_AndNoCommandIsRejected()
    {
        using var backend = NewBackend();
        await backend.StartAsync(CancellationToken.None);
        var id = await backend.SubmitAsync(Job("missing", ["/nonexistent/program"]), CancellationToken.None);
        var detail = await WaitForAsync(backend, id, d => d.Status == JobStatus.Failed, "the job fails");
        Assert.StartsWith("CannotStartContainerError", detail.StatusReason, StringComparison.Ordinal);

        var none = Job("none", ["x"]);
        var noCommand = none with { Job = none.Job with { Command = null } };
        var rejected = await Assert.ThrowsAsync<JobRejectedException>(() => backend.SubmitAsync(noCommand, CancellationToken.None));
        Assert.Contains("has none", rejected.Message, StringComparison.Ordinal);
        await backend.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Restart_AdoptsAJobStillRunning_RecordsTheExitCodeItsSupervisorWrote_AndKeepsQueuedOnes()
    {
        var gate = _folder.Combine("go");
        string running, queued;
        using (var backend = NewBackend(maxConcurrent: 1))
        {
            await backend.StartAsync(CancellationToken.None);
            running = await backend.SubmitAsync(Job("running", ["sh", "-c", $"while [ ! -f {gate} ]; do sleep 0.05; done; exit 3"]), CancellationToken.None);
            await WaitForAsync(backend, running, d => d.Status == JobStatus.Running, "the job runs");
            queued = await backend.SubmitAsync(Job("queued", ["true"]), CancellationToken.None);
            await WaitForAsync(backend, queued, d => d.Status == JobStatus.Runnable, "the second job queues");
        }

        // The daemon died without stopping (as after SIGKILL): its record still says RUNNING, and the job runs on.
        var record = _folder.Combine("work", "jobs", running + ".json");
        Assert.Contains("\"Running\"", await File.ReadAllTextAsync(record), StringComparison.Ordinal);

        using var restarted = NewBackend(maxConcurrent: 1);
        await restarted.StartAsync(CancellationToken.None);
        Assert.Equal(JobStatus.Running, (await restarted.DescribeAsync([running], CancellationToken.None)).Single().Status);

        // Adopted, it still holds the only slot: the queued job waits for it.
        Assert.Equal(JobStatus.Runnable, (await restarted.DescribeAsync([queued], CancellationToken.None)).Single().Status);
        await File.WriteAllTextAsync(gate, "");
        var finished = await WaitForAsync(restarted, running, d => !d.Status.IsActive(), "the adopted job ends");
        Assert.Equal(JobStatus.Failed, finished.Status);
        Assert.Equal(3, finished.ExitCode);
        Assert.Equal(Batchkeeper.Core.Snapshots.FailureClass.Failed, FailureClassifier.Classify(finished));
        await WaitForAsync(restarted, queued, d => d.Status == JobStatus.Succeeded, "the queued job runs after the adopted one");
        var listed = await restarted.ListByNamePrefixAsync("local", "run", CancellationToken.None);
        Assert.Equal(running, Assert.Single(listed).JobId);
        await restarted.StopAsync(CancellationToken.None);
        Assert.NotNull(JsonDocument.Parse(await File.ReadAllTextAsync(record)));
    }

    [Fact]
    public async Task Restart_ReportsAJobWhoseProcessDiedWithoutAnExitCode_AsInterrupted()
    {
        string running;
        using (var backend = NewBackend())
        {
            await backend.StartAsync(CancellationToken.None);
            running = await backend.SubmitAsync(Job("running", ["sleep", "60"]), CancellationToken.None);
            await WaitForAsync(backend, running, d => d.Status == JobStatus.Running, "the job runs");
        }

        // The job's whole group dies while no daemon runs (a reboot): no exit code is written.
        var record = JsonDocument.Parse(await File.ReadAllTextAsync(_folder.Combine("work", "jobs", running + ".json")));
        var pid = record.RootElement.GetProperty("pid").GetInt32();
        using (var kill = System.Diagnostics.Process.Start("kill", ["-KILL", "--", "-" + pid]))
        {
            await kill.WaitForExitAsync();
        }

        await Eventually.WaitAsync(() => !File.Exists($"/proc/{pid}/cmdline") || File.ReadAllText($"/proc/{pid}/cmdline").Length == 0, "the job's process is gone");
        using var restarted = NewBackend();
        await restarted.StartAsync(CancellationToken.None);
        var lost = (await restarted.DescribeAsync([running], CancellationToken.None)).Single();
        Assert.Equal(JobStatus.Failed, lost.Status);
        Assert.Equal(FailureClassifier.LocalInterruptedReason, lost.StatusReason);
        Assert.Equal(Batchkeeper.Core.Snapshots.FailureClass.Interrupted, FailureClassifier.Classify(lost));
        await restarted.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Stop_KillsTheJobsWholeProcessGroup_AndReportsItInterrupted()
    {
        var marker = "bk-stop-" + Guid.NewGuid().ToString("N")[..8];
        using var backend = NewBackend();
        await backend.StartAsync(CancellationToken.None);
        var id = await backend.SubmitAsync(Job("tree", ["sh", "-c", $"sh -c 'sleep 60; :' {marker} & sh -c 'sleep 61; :' {marker}; wait"]), CancellationToken.None);
        await WaitForAsync(backend, id, d => d.Status == JobStatus.Running, "the job runs");
        // The supervisor, the job's shell and the two shells it started.
        await Eventually.WaitAsync(() => ProcessesWith(marker) == 4, "all of the job's processes run");
        await backend.StopAsync(CancellationToken.None);
        await Eventually.WaitAsync(() => ProcessesWith(marker) == 0, "no process of the job is left");
        var detail = (await backend.DescribeAsync([id], CancellationToken.None)).Single();
        Assert.Equal(FailureClassifier.LocalInterruptedReason, detail.StatusReason);
    }

    /// <summary>Live processes whose command line holds <paramref name="marker"/>.</summary>
    internal static int ProcessesWith(string marker)
    {
        var count = 0;
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                if (int.TryParse(Path.GetFileName(folder), out _) && File.ReadAllText(Path.Combine(folder, "cmdline")).Replace('\0', ' ').Contains(marker, StringComparison.Ordinal))
                {
                    count++;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // gone while looking
            }
        }

        return count;
    }

    /// <summary>The local backend's parts as <see cref="LocalServiceCollectionExtensions.AddLocalBackend"/> wires them; started and stopped as the host would.</summary>
    private sealed class LocalBackend : IJobBackend, IDisposable
    {
        private readonly LocalJobScheduler _scheduler;
        private readonly LocalJobBackend _backend;

        public LocalBackend(IOptions<BatchkeeperOptions> options, TimeProvider clock)
        {
            var store = new LocalJobStore(options, NullLogger<LocalJobStore>.Instance);
            _scheduler = new LocalJobScheduler(store, new LocalProcessRunner(), options, clock, NullLogger<LocalJobScheduler>.Instance);
            _backend = new LocalJobBackend(store, _scheduler, clock);
        }

        public string Name => _backend.Name;

        public Task StartAsync(CancellationToken cancellationToken) => _scheduler.StartAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => _scheduler.StopAsync(cancellationToken);

        public Task<string> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken) => _backend.SubmitAsync(submission, cancellationToken);

        public Task<IReadOnlyList<JobDetail>> DescribeAsync(IReadOnlyCollection<string> jobIds, CancellationToken cancellationToken) => _backend.DescribeAsync(jobIds, cancellationToken);

        public Task<IReadOnlyList<JobSummary>> ListByNamePrefixAsync(string queue, string namePrefix, CancellationToken cancellationToken) =>
            _backend.ListByNamePrefixAsync(queue, namePrefix, cancellationToken);

        public Task TerminateAsync(string jobId, string reason, CancellationToken cancellationToken) => _backend.TerminateAsync(jobId, reason, cancellationToken);

        public void Dispose() => _scheduler.Dispose();
    }
}

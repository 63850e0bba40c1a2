using Batchkeeper.BatchEmulator;
using Batchkeeper.Daemon.Tests.Aws;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Xunit.Abstractions;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Reliability;

/// <summary>
/// The real executable on the Batch emulator and s3rver, started and stopped as an operator does: a standby taking
/// over from a daemon killed with SIGKILL in the middle of its SubmitJobs, and SIGTERM while Batch does not answer.
/// </summary>
public sealed class ExactlyOnceAwsTests(S3rverFixture s3, ITestOutputHelper output) : IClassFixture<S3rverFixture>, IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Projects => _folder.Combine("projects");

    private Dictionary<string, string> Environment(Emulator emulator) => new()
    {
        ["Batchkeeper__ProjectsDirectory"] = Projects,
        ["Batchkeeper__LogDirectory"] = _folder.Combine("logs"),
        ["Batchkeeper__ReconcileInterval"] = "00:00:01",
        ["Batchkeeper__RescanInterval"] = "00:00:01",
        ["Batchkeeper__Retry__Backoff"] = "00:00:00.100",
        ["Batchkeeper__Backend"] = "Aws",
        ["Batchkeeper__Aws__Region"] = "us-east-1",
        ["Batchkeeper__Aws__BatchServiceUrl"] = emulator.BaseAddress.ToString(),
        ["Batchkeeper__Aws__S3ServiceUrl"] = s3.Server.ServiceUrl,
        ["Batchkeeper__Aws__S3ForcePathStyle"] = "true",
        ["AWS_ACCESS_KEY_ID"] = S3rver.AccessKey,
        ["AWS_SECRET_ACCESS_KEY"] = S3rver.SecretKey,
    };

    private string CreateWorkflow(int samples)
    {
        var project = Demo.CreateProject(Projects, "study", Enumerable.Range(1, samples).Select(i => ($"s{i:D2}", 1)).ToArray());
        var workflow = Path.Combine(project, "aws.json");
        Demo.Drop(workflow, $$"""
            {
              "workflow_name": "aws",
              "analyses": [
                { "name": "one", "job_definition": "d:1", "queue": "q", "command": ["one", "{sample_name}"],
                  "outputs": ["s3://results/{{Guid.NewGuid():N}}/{sample_name}.1"] }
              ]
            }
            """);
        return workflow;
    }

    [Fact]
    public async Task StandbyTakesOverWithin5sOfASigkillOfTheActiveDaemonMidSubmit_NothingSubmittedTwice_EverySnapshotValid()
    {
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions
        {
            S3ServiceUrl = new Uri(s3.Server.ServiceUrl),
            RunDuration = TimeSpan.FromSeconds(1),
        });
        var workflow = CreateWorkflow(12);
        var environment = Environment(emulator);

        // Every SubmitJob is processed by Batch and then not answered for 30 s: the active daemon dies mid-submit.
        emulator.Faults.Update(f => f with { StallRate = 1.0, StallAfterProcessing = true, StallDuration = TimeSpan.FromSeconds(30), Operations = [BatchOperations.SubmitJob] });
        await using var active = DaemonProcess.Start(_folder.Path, environment, "run");
        await Eventually.WaitAsync(() => emulator.RequestsFor(BatchOperations.SubmitJob).Count > 0 || emulator.RequestsInFlight > 0, "a SubmitJob in flight");
        await using var standby = DaemonProcess.Start(_folder.Path, environment, "run", "--standby");
        await Eventually.WaitAsync(() => LogFiles.Read(_folder.Combine("logs")).Contains("Standby: the projects folder", StringComparison.Ordinal), "the standby says it waits");
        Assert.False(standby.HasExited, $"the standby exited: {string.Join("\n", standby.Stderr)}");

        Signals.Kill(active.Id);
        var killedAt = DateTimeOffset.UtcNow;
        await active.WaitForExitAsync(TimeSpan.FromSeconds(30));
        emulator.Faults.Update(f => f with { StallRate = 0 });
        await CrashAudit.AssertEverySnapshotParsesAsync(Projects);

        await TestDaemon.WaitForPassAsync(workflow, killedAt, "the standby's first pass", timeout: TimeSpan.FromSeconds(30));
        var takeover = await TestDaemon.WaitForLastPassAtAsync(workflow) - killedAt;
        output.WriteLine($"the standby's first pass began {takeover.TotalSeconds:0.00} s after the SIGKILL");
        Assert.True(takeover < TimeSpan.FromSeconds(5), $"the standby's first pass came {takeover.TotalSeconds:0.0} s after the SIGKILL");
        Assert.Contains("Took over the projects folder", LogFiles.Read(_folder.Combine("logs")), StringComparison.Ordinal);

        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 12, "the standby completes every slot", TimeSpan.FromMinutes(2));
        await CrashAudit.AssertEverySnapshotParsesAsync(Projects);
        CrashAudit.AssertNoJobLostOrSubmittedTwice(emulator, done);
        Assert.Equal(12, emulator.Jobs.Count);
        standby.Terminate();
        Assert.Equal(0, await standby.WaitForExitAsync(TimeSpan.FromSeconds(45)));
    }

    [Fact]
    public async Task SigkillWhileJobStateEventsAreBeingConsumed_TheRestartCompletesEverySlotOnce_NoAttemptSpent()
    {
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions
        {
            S3ServiceUrl = new Uri(s3.Server.ServiceUrl),
            RunDuration = TimeSpan.FromSeconds(1),
            EventsQueue = "batchkeeper-events",
            EventRule = { JobQueues = { "q" }, JobNamePrefix = "bk-" },
        });
        var workflow = CreateWorkflow(12);
        var environment = Environment(emulator);
        environment["Batchkeeper__Aws__EventsQueueUrl"] = emulator.EventsQueueUrl!;
        environment["Batchkeeper__Aws__SqsServiceUrl"] = emulator.BaseAddress.ToString();

        await using (var first = DaemonProcess.Start(_folder.Path, environment, "run"))
        {
            // Killed while it takes job-state events off the queue (some received, some not yet, some not yet deleted),
            // once its submissions are in its snapshot. Killed before that, the restart finds the jobs by name or, when
            // they have finished by then, their outputs (a slot complete without a job of its own): which of the two
            // depends on how fast the jobs run, not on the events this test is about.
            await Eventually.WaitAsync(
                async () => (await TestDaemon.ReadSnapshotAsync(workflow))?.Slots.Count(s => s.JobId is not null),
                recorded => recorded == 12 && emulator.EventsQueue!.Messages.Count(m => m.ReceiveCount > 0) + emulator.SqsRequests.Count(r => r.Operation == SqsOperations.DeleteMessageBatch) >= 3,
                "the daemon's submissions in its snapshot, and the daemon consuming job-state events");
            Signals.Kill(first.Id);
            await first.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }

        await CrashAudit.AssertEverySnapshotParsesAsync(Projects);

        // The messages the killed daemon held stay invisible for its visibility timeout (5 minutes): the restart learns
        // those states from its start-up sweep, and the rest from the events still to come.
        await using var second = DaemonProcess.Start(_folder.Path, environment, "run");
        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 12, "the restarted daemon completes every slot", TimeSpan.FromMinutes(2));
        await CrashAudit.AssertEverySnapshotParsesAsync(Projects);
        CrashAudit.AssertNoJobLostOrSubmittedTwice(emulator, done);
        Assert.Equal(12, emulator.Jobs.Count);
        Assert.All(done.Slots, slot => Assert.Equal((1, 0), (slot.Attempt, slot.Interruptions)));
        second.Terminate();
        Assert.Equal(0, await second.WaitForExitAsync(TimeSpan.FromSeconds(45)));
    }

    /// <summary>The unit's TimeoutStopSec, read from deploy/systemd/batchkeeper.service.</summary>
    private static TimeSpan TimeoutStopSec()
    {
        var line = File.ReadAllLines(Path.Combine(RepoPaths.Root, "deploy", "systemd", "batchkeeper.service"))
            .Single(l => l.StartsWith("TimeoutStopSec=", StringComparison.Ordinal));
        return TimeSpan.FromSeconds(int.Parse(line["TimeoutStopSec=".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task SigtermWhileBatchStalls_WritesTheSnapshot_AndExits0WellWithinTimeoutStopSec()
    {
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions { S3ServiceUrl = new Uri(s3.Server.ServiceUrl) });
        var workflow = CreateWorkflow(4);
        var environment = Environment(emulator);
        await using var daemon = DaemonProcess.Start(_folder.Path, environment, "run");
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Slots.Count(x => x.JobId is not null) == 4, "every slot submitted");

        // From now on Batch answers nothing for 60 s: with the default retries (5 attempts of 30 s) a pass would hang for minutes.
        emulator.Faults.Update(f => f with { StallRate = 1.0, StallAfterProcessing = false, StallDuration = TimeSpan.FromSeconds(60), Operations = null });
        await Eventually.WaitAsync(() => emulator.RequestsInFlight > 0, "a Batch call stalled");

        var stopped = DateTimeOffset.UtcNow;
        daemon.Terminate();
        var code = await daemon.WaitForExitAsync(TimeSpan.FromSeconds(90));
        var took = DateTimeOffset.UtcNow - stopped;
        output.WriteLine($"exit {code} {took.TotalSeconds:0.0} s after SIGTERM (TimeoutStopSec {TimeoutStopSec().TotalSeconds:0} s)");
        Assert.True(code == 0, $"exit code {code}: {string.Join("\n", daemon.Stderr.TakeLast(20))}");
        Assert.True(took < TimeoutStopSec() / 2, $"took {took.TotalSeconds:0.0} s, not well within TimeoutStopSec ({TimeoutStopSec().TotalSeconds:0} s)");

        // The pass the SIGTERM cut short wrote its snapshot (its reconciled_at is when that pass began), saying why.
        var written = new DateTimeOffset(File.GetLastWriteTimeUtc(Batchkeeper.Daemon.Snapshots.FileSnapshotStore.PathFor(workflow)));
        Assert.True(written >= stopped, $"the last snapshot was written at {written:O}, before the SIGTERM at {stopped:O}");
        var snapshot = (await TestDaemon.ReadSnapshotAsync(workflow))!;
        Assert.Contains(snapshot.Errors, e => e.Message.StartsWith("the daemon stopped during this pass", StringComparison.Ordinal));
        Assert.Equal(4, snapshot.Slots.Count(s => s.JobId is not null));
        await CrashAudit.AssertEverySnapshotParsesAsync(Projects);
    }
}

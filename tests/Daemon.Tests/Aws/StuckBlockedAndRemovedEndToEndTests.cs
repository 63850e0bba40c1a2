using System.Text.Json;
using Batchkeeper.BatchEmulator;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Aws;

/// <summary>One s3rver for the stuck, blocked and removed tests, one bucket per test.</summary>
public sealed class StuckBlockedAndRemovedS3rverFixture : IAsyncLifetime
{
    public S3rver Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await S3rver.StartAsync("fp-stuck", "fp-terminate", "fp-blocked", "fp-removed", "fp-control");

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// The rest of the failure policy against the Batch emulator and s3rver: jobs stuck RUNNABLE with Batch's
/// MISCONFIGURATION or CAPACITY reason are flagged after <c>StuckRunnableAfter</c> (and terminated, then reported
/// misconfigured, with <c>TerminateStuckJobs</c>); a blocked slot resumes by itself once its upstream completes;
/// removing a workflow file stops its management and leaves its jobs alone.
/// </summary>
public sealed class StuckBlockedAndRemovedEndToEndTests(StuckBlockedAndRemovedS3rverFixture s3)
    : IClassFixture<StuckBlockedAndRemovedS3rverFixture>, IDisposable
{
    private const string Misconfiguration =
        "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement (vCPU/memory/GPU) is higher than that can be met by the CE(s) attached to the job queue.";

    private const string Capacity = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - There is not enough capacity to fulfill your request.";
    private const string Scaling = "Waiting for the compute environment to scale up";

    private static readonly TimeSpan StuckAfter = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string Workflow(string bucket, string name = "famli", string retry = """{ "max_attempts": 3 }""") => $$"""
        {
          "workflow_name": "{{name}}",
          "analyses": [
            {
              "name": "align", "job_definition": "famli:14", "queue": "spot-test",
              "command": ["famli", "align", "--input", "{file_name}"],
              "containerOverrides": { "vcpus": 4, "memory": 8000 },
              "retry": {{retry}},
              "outputs": ["s3://{{bucket}}/lab/{project_name}/align/{sample_name}.json.gz"]
            },
            {
              "name": "summarise", "job_definition": "summary:2", "queue": "spot-test",
              "command": ["summarise", "{sample_name}"],
              "outputs": ["s3://{{bucket}}/lab/{project_name}/summary/{sample_name}.tsv"]
            }
          ]
        }
        """;

    private async Task<(Emulator Emulator, TestDaemon Daemon)> StartAsync(FaultSettings faults, bool terminateStuckJobs = false)
    {
        var emulator = await Emulator.StartAsync(new BatchEmulatorOptions { S3ServiceUrl = new Uri(s3.Server.ServiceUrl), Faults = faults });
        var settings = new Dictionary<string, string?>
        {
            ["Batchkeeper:StuckRunnableAfter"] = StuckAfter.ToString(),
            ["Batchkeeper:TerminateStuckJobs"] = terminateStuckJobs ? "true" : "false",
        };
        try
        {
            var daemon = await TestDaemon.StartOnAwsAsync(_folder.Path, emulator.BaseAddress, s3.Server.ServiceUrl, settings);
            return (emulator, daemon);
        }
        catch
        {
            await emulator.DisposeAsync();
            throw;
        }
    }

    private static string Prefix(string analysis, string sample) => $"bk-famli-{analysis}-{sample}-";

    private static SlotRecord Slot(WorkflowSnapshot snapshot, string sample, string analysis = "align") =>
        snapshot.Slots.Single(s => s.Sample == sample && s.Analysis == analysis);

    private static JsonElement[] Submissions(Emulator emulator, string namePrefix) =>
        [.. emulator.RequestsFor(BatchOperations.SubmitJob).Where(r => r.StatusCode == 200)
            .Select(r => JsonDocument.Parse(r.Body).RootElement)
            .Where(b => b.GetProperty("jobName").GetString()!.StartsWith(namePrefix, StringComparison.Ordinal))];

    private static Task<WorkflowSnapshot> LaterPassesAsync(string workflow, WorkflowSnapshot after) =>
        TestDaemon.WaitForPassAsync(workflow, after.ReconciledAt + TimeSpan.FromSeconds(2), "two more passes", timeout: Deadline);

    [Fact]
    public async Task JobStuckRunnable_WithAMisconfigurationOrCapacityReason_IsFlaggedAfterStuckRunnableAfter_AndOnlyThose()
    {
        var faults = new FaultSettings
        {
            JobRules =
            [
                new JobFaultRule { NamePrefix = Prefix("align", "s1"), StuckRunnableReason = Misconfiguration },
                new JobFaultRule { NamePrefix = Prefix("align", "s2"), StuckRunnableReason = Capacity },
                new JobFaultRule { NamePrefix = Prefix("align", "s3"), StuckRunnableReason = Scaling },
            ],
        };
        var (emulator, daemon) = await StartAsync(faults);
        await using var emulatorScope = emulator;
        await using var daemonScope = daemon;
        Demo.CreateProject(daemon.Projects, "study", ("s1", 1), ("s2", 2), ("s3", 3));
        var workflow = daemon.WorkflowPath("study", "famli.json");
        Demo.Drop(workflow, Workflow("fp-stuck"));

        var seen = new List<WorkflowSnapshot>();
        var flagged = await TestDaemon.WaitForSnapshotAsync(workflow, s =>
        {
            seen.Add(s);
            return Slot(s, "s1").Stuck && Slot(s, "s2").Stuck;
        }, "s1 and s2 flagged stuck", Deadline);
        var later = await LaterPassesAsync(workflow, flagged);

        foreach (var (sample, reason) in new[] { ("s1", Misconfiguration), ("s2", Capacity) })
        {
            var slot = Slot(later, sample);
            Assert.True(slot.Stuck, sample);
            Assert.Equal((SlotState.Queued, "RUNNABLE", reason), (slot.State, slot.BatchStatus, slot.StatusReason));
            Assert.StartsWith("stuck RUNNABLE for 00:00:0", slot.Message, StringComparison.Ordinal);
            Assert.EndsWith(": " + reason, slot.Message, StringComparison.Ordinal);
        }

        // Not before the threshold: passes that saw the job RUNNABLE for less than StuckRunnableAfter left it unflagged.
        // (reconciled_at is read just before the pass's own clock, a few milliseconds earlier: hence the margin.)
        var runnableSeen = seen.Select(s => Slot(s, "s1")).Where(s => s.RunnableSince is not null).ToArray();
        Assert.Contains(runnableSeen, s => !s.Stuck);
        Assert.All(seen.Where(s => Slot(s, "s1").Stuck), s => Assert.True(
            s.ReconciledAt - Slot(s, "s1").RunnableSince >= StuckAfter - TimeSpan.FromMilliseconds(250),
            $"flagged at {s.ReconciledAt:O}, RUNNABLE since {Slot(s, "s1").RunnableSince:O}"));

        var waiting = Slot(later, "s3");
        Assert.Equal((false, "RUNNABLE", Scaling), (waiting.Stuck, waiting.BatchStatus, waiting.StatusReason));
        Assert.True(await TestDaemon.LastPassAtAsync(workflow) - waiting.RunnableSince >= StuckAfter, "s3 waited as long as the others");
        Assert.Null(waiting.Message);

        // Flagging leaves the jobs alone: nothing is terminated, and each slot has its one job.
        Assert.Empty(emulator.RequestsFor(BatchOperations.TerminateJob));
        Assert.Equal(3, Submissions(emulator, "bk-famli-align-").Length);
        Assert.All(emulator.Jobs.Where(j => j.JobName.StartsWith("bk-famli-align-", StringComparison.Ordinal)), j => Assert.Equal("RUNNABLE", j.Status));

        // Capacity arrives: the same jobs run, the flags clear and the workflow converges.
        emulator.Faults.Reset();
        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 6, "the workflow converges once the jobs can start", Deadline);
        Assert.All(done.Slots, s => Assert.False(s.Stuck));
        Assert.All(done.Slots.Where(s => s.Analysis == "align"), s => Assert.Single(s.History));
        Assert.Equal(3, Submissions(emulator, "bk-famli-align-").Length);
    }

    [Fact]
    public async Task JobStuckRunnable_WithTerminateStuckJobs_IsTerminated_ReportedMisconfigured_AndNotResubmitted()
    {
        var faults = new FaultSettings { JobRules = [new JobFaultRule { NamePrefix = Prefix("align", "s1"), StuckRunnableReason = Capacity }] };
        var (emulator, daemon) = await StartAsync(faults, terminateStuckJobs: true);
        await using var emulatorScope = emulator;
        await using var daemonScope = daemon;
        Demo.CreateProject(daemon.Projects, "study", ("s1", 1));
        var workflow = daemon.WorkflowPath("study", "famli.json");
        Demo.Drop(workflow, Workflow("fp-terminate"));

        var failed = await TestDaemon.WaitForSnapshotAsync(workflow, s => Slot(s, "s1").State == SlotState.FailedPermanently, "align failed permanently", Deadline);
        var later = await LaterPassesAsync(workflow, failed);

        var align = Slot(later, "s1");
        var job = Assert.Single(emulator.Jobs, j => j.JobName == align.JobName);
        Assert.Equal(("FAILED", true, null, 0), (job.Status, job.IsTerminated, job.StartedAt, job.AttemptCount));
        Assert.StartsWith("Stuck RUNNABLE, terminated by batchkeeper after 00:00:0", job.StatusReason, StringComparison.Ordinal);
        Assert.EndsWith(": " + Capacity, job.StatusReason, StringComparison.Ordinal);
        var terminate = Assert.Single(emulator.RequestsFor(BatchOperations.TerminateJob));
        Assert.Equal(job.JobId, terminate.BodyJson.GetProperty("jobId").GetString());

        Assert.Equal((FailureClass.Misconfigured, false), (align.FailureClass, align.Stuck));
        Assert.StartsWith("misconfigured, not retried", align.Message, StringComparison.Ordinal);
        Assert.Contains(job.StatusReason!, align.Message, StringComparison.Ordinal);
        var attempt = Assert.Single(align.History);
        Assert.Equal((job.JobId, FailureClass.Misconfigured, job.StatusReason), (attempt.JobId, attempt.FailureClass, attempt.StatusReason));
        Assert.Single(Submissions(emulator, "bk-famli-align-"));

        var summarise = Slot(later, "s1", "summarise");
        Assert.Equal(SlotState.Blocked, summarise.State);
        Assert.DoesNotContain(emulator.Jobs, j => !j.IsFinal);
    }

    [Fact]
    public async Task BlockedSlot_ResumesByItself_WhenItsUpstreamLaterCompletes()
    {
        var faults = new FaultSettings { JobRules = [new JobFaultRule { NamePrefix = Prefix("align", "s1"), ExitCode = 2 }] };
        var (emulator, daemon) = await StartAsync(faults);
        await using var emulatorScope = emulator;
        await using var daemonScope = daemon;
        Demo.CreateProject(daemon.Projects, "study", ("s1", 1));
        var workflow = daemon.WorkflowPath("study", "famli.json");
        Demo.Drop(workflow, Workflow("fp-blocked", retry: """{ "max_attempts": 1 }"""));

        var blocked = await TestDaemon.WaitForSnapshotAsync(workflow,
            s => Slot(s, "s1").State == SlotState.FailedPermanently && Slot(s, "s1", "summarise").State == SlotState.Blocked, "align failed, summarise blocked", Deadline);
        var before = Slot(blocked, "s1", "summarise");
        Assert.Equal("blocked: analysis 'align' is failed permanently", before.Message);
        var waitedFor = Assert.Single(before.History);
        Assert.Equal((FailureClass.Blocked, "Dependent Job failed"), (waitedFor.FailureClass, waitedFor.StatusReason));

        // Someone produces align's output by other means: align is complete, and summarise goes ahead on its own.
        using (var client = s3.Server.CreateClient())
        {
            await client.PutObjectAsync(new Amazon.S3.Model.PutObjectRequest
            {
                BucketName = "fp-blocked", Key = "lab/study/align/s1.json.gz", ContentBody = "aligned elsewhere",
            });
        }

        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "both slots complete", Deadline);

        var summarise = Slot(done, "s1", "summarise");
        Assert.Equal(before.JobName, summarise.JobName);
        Assert.Equal(1, summarise.Attempt); // waiting on a failed upstream used no attempt
        Assert.Equal([(FailureClass?)FailureClass.Blocked, null], summarise.History.Select(h => h.FailureClass));
        Assert.Equal(["FAILED", "SUCCEEDED"], summarise.History.Select(h => h.Status));
        var bodies = Submissions(emulator, "bk-famli-summarise-");
        Assert.Equal(2, bodies.Length);
        Assert.True(bodies[0].TryGetProperty("dependsOn", out _), "the first summarise job waited on align's job");
        Assert.False(bodies[1].TryGetProperty("dependsOn", out var dependsOn), $"unexpected dependsOn {dependsOn}");
        Assert.Single(Submissions(emulator, "bk-famli-align-"));
    }

    [Fact]
    public async Task RemovingTheWorkflowFile_StopsItsManagement_AndLeavesItsJobsAlone()
    {
        // align runs for a while and then fails: a managed workflow would resubmit it within a second.
        var faults = new FaultSettings
        {
            JobRules = [new JobFaultRule { NamePrefix = "bk-famli-align-", ExitCode = 1, RunDuration = TimeSpan.FromSeconds(3) }],
        };
        var (emulator, daemon) = await StartAsync(faults);
        await using var emulatorScope = emulator;
        await using var daemonScope = daemon;
        Demo.CreateProject(daemon.Projects, "study", ("s1", 1), ("s2", 2));
        Demo.CreateProject(daemon.Projects, "other", ("o1", 1));
        var workflow = daemon.WorkflowPath("study", "famli.json");
        var control = daemon.WorkflowPath("other", "control.json");
        Demo.Drop(workflow, Workflow("fp-removed"));
        Demo.Drop(control, Workflow("fp-control", name: "control"));

        var running = await TestDaemon.WaitForSnapshotAsync(workflow,
            s => s.Slots.All(x => x.JobId is not null) && s.Slots.Where(x => x.Analysis == "align").All(x => x.State == SlotState.Running),
            "align running, summarise queued behind it", Deadline);
        var jobIds = running.Slots.Select(s => s.JobId!).ToHashSet(StringComparer.Ordinal);

        File.Delete(workflow);
        await Eventually.WaitAsync(() => ReadLog(daemon).Contains("Workflow study/famli.json was removed", StringComparison.Ordinal), "the removal is logged", Deadline);
        var removedAt = DateTimeOffset.UtcNow;

        // The jobs end as Batch ends them; the other workflow shows the daemon kept reconciling meanwhile.
        await emulator.WaitUntilAsync(jobs => jobs.Where(j => jobIds.Contains(j.JobId)).All(j => j.IsFinal), Deadline);
        var finishedAt = DateTimeOffset.UtcNow;
        await TestDaemon.WaitForPassAsync(control, finishedAt + TimeSpan.FromSeconds(2), "the other workflow reconciled twice since", timeout: Deadline);

        Assert.Empty(emulator.RequestsFor(BatchOperations.TerminateJob));
        Assert.Empty(emulator.RequestsFor(BatchOperations.CancelJob));
        Assert.Equal(4, Submissions(emulator, "bk-famli-").Length); // nothing resubmitted after align failed
        var mine = emulator.Jobs.Where(j => jobIds.Contains(j.JobId)).ToArray();
        Assert.All(mine.Where(j => j.JobName.StartsWith("bk-famli-align-", StringComparison.Ordinal)),
            j => Assert.Equal(("FAILED", "Essential container in task exited", false), (j.Status, j.StatusReason, j.IsTerminated)));
        Assert.All(mine.Where(j => j.JobName.StartsWith("bk-famli-summarise-", StringComparison.Ordinal)),
            j => Assert.Equal(("FAILED", "Dependent Job failed"), (j.Status, j.StatusReason)));

        // After the pass that may have been in flight, nobody asked Batch about these jobs any more.
        var askedLater = emulator.RequestsFor(BatchOperations.DescribeJobs)
            .Where(r => r.ReceivedAt > removedAt + TimeSpan.FromSeconds(1))
            .SelectMany(r => r.BodyJson.GetProperty("jobs").EnumerateArray().Select(id => id.GetString()!))
            .Where(jobIds.Contains);
        Assert.Empty(askedLater);
        Assert.False(File.Exists(workflow));
        Assert.Equal(2, Submissions(emulator, "bk-control-").Length);
    }

    private static string ReadLog(TestDaemon daemon) =>
        !Directory.Exists(daemon.LogDirectory)
            ? ""
            : string.Concat(Directory.GetFiles(daemon.LogDirectory, "batchkeeper-*.log").Select(path =>
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                return new StreamReader(stream).ReadToEnd();
            }));
}

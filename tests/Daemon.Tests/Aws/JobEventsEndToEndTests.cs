using System.Text.Json;
using Batchkeeper.BatchEmulator;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Aws;

/// <summary>
/// The real daemon reading job-state events from the emulator's SQS queue (EventBridge's envelope, at least once and
/// unordered), with s3rver: events drive workflows without DescribeJobs, faults of the events change nothing, the
/// start-up sweep makes up for what was lost while it was down, and a message that is no event stops nothing.
/// </summary>
public sealed class JobEventsEndToEndTests(S3rverFixture s3) : IClassFixture<S3rverFixture>, IDisposable
{
    private readonly List<TempFolder> _folders = [new()];

    public void Dispose() => _folders.ForEach(f => f.Dispose());

    /// <summary>Two analyses per sample, outputs under a prefix of their own (the s3rver is shared by the class).</summary>
    private static string Workflow() => $$"""
        {
          "workflow_name": "famli",
          "analyses": [
            { "name": "align", "job_definition": "famli:14", "queue": "spot", "command": ["align", "{sample_name}"],
              "outputs": ["s3://results/{{Guid.NewGuid():N}}/align/{sample_name}.bam"] },
            { "name": "summarise", "job_definition": "summary:2", "queue": "spot", "command": ["summarise", "{sample_name}"],
              "outputs": ["s3://results/{{Guid.NewGuid():N}}/summary/{sample_name}.tsv"] }
          ]
        }
        """;

    private Task<Emulator> StartEmulatorAsync(FaultSettings? faults = null, TimeSpan? runDuration = null) => Emulator.StartAsync(new BatchEmulatorOptions
    {
        S3ServiceUrl = new Uri(s3.Server.ServiceUrl),
        EventsQueue = "batchkeeper-events",
        EventRule = { JobQueues = { "spot" }, JobNamePrefix = "bk-" },
        Faults = faults,
        RunDuration = runDuration ?? TimeSpan.FromMilliseconds(100),
    });

    private Task<TestDaemon> StartDaemonAsync(Emulator emulator, TempFolder? folder = null, Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Batchkeeper:Aws:EventsQueueUrl"] = emulator.EventsQueueUrl,
            ["Batchkeeper:Aws:SqsServiceUrl"] = emulator.BaseAddress.ToString(),
        };
        foreach (var (key, value) in extra ?? [])
        {
            settings[key] = value;
        }

        return TestDaemon.StartOnAwsAsync((folder ?? _folders[0]).Path, emulator.BaseAddress, s3.Server.ServiceUrl, settings);
    }

    private static string DropWorkflow(TestDaemon daemon, string project, int samples)
    {
        Demo.CreateProject(daemon.Projects, project, [.. Enumerable.Range(1, samples).Select(i => ($"s{i}", i))]);
        var workflow = daemon.WorkflowPath(project, "famli.json");
        Demo.Drop(workflow, Workflow());
        return workflow;
    }

    private static int Requests(Emulator emulator, string operation) => emulator.RequestsFor(operation).Count;

    /// <summary>ListJobs by status (adaptive polling), not the JOB_NAME listing of adoption.</summary>
    private static int StatusListings(Emulator emulator) =>
        emulator.RequestsFor(BatchOperations.ListJobs).Count(r => !JsonDocument.Parse(r.Body).RootElement.TryGetProperty("filters", out _));

    private static int SubmissionsOf(Emulator emulator, string jobName) =>
        emulator.RequestsFor(BatchOperations.SubmitJob).Count(r => r.StatusCode == 200 && JsonDocument.Parse(r.Body).RootElement.GetProperty("jobName").GetString() == jobName);

    private static Task EmptiedAsync(Emulator emulator) => Eventually.WaitAsync(
        () => Task.FromResult<IReadOnlyList<EmulatedMessage>?>(emulator.EventsQueue!.Messages),
        messages => messages!.Count == 0,
        "every events-queue message deleted",
        describe: messages => string.Join("; ", messages!.Select(m => $"{m.MessageId} received {m.ReceiveCount}× {Left(m.Body)}")));

    private static string Left(string body)
    {
        try
        {
            var detail = JsonDocument.Parse(body).RootElement.GetProperty("detail");
            return $"{detail.GetProperty("jobName").GetString()} {detail.GetProperty("status").GetString()}";
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return "(not an event)";
        }
    }

    [Fact]
    public async Task Events_DriveAWorkflowToCompletion_WithNoDescribeJobsBetweenResyncs_AndEveryMessageDeleted()
    {
        await using var emulator = await StartEmulatorAsync();
        await using var daemon = await StartDaemonAsync(emulator);
        var workflow = DropWorkflow(daemon, "events", 4);

        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 8, "all eight slots complete");
        await EmptiedAsync(emulator);

        // Every job was submitted by this daemon and told of by events: Batch was never asked for a state.
        Assert.Equal(0, Requests(emulator, BatchOperations.DescribeJobs));
        Assert.Equal(0, StatusListings(emulator));
        Assert.All(done.Slots, slot => Assert.Equal(1, SubmissionsOf(emulator, slot.JobName!)));
        Assert.All(done.Slots, slot => Assert.NotNull(slot.LogStream));
        Assert.Contains(emulator.SqsRequests, r => r.Operation == SqsOperations.DeleteMessageBatch);
        Assert.Contains(emulator.SqsRequests, r => r.Operation == SqsOperations.ReceiveMessage
            && JsonDocument.Parse(r.Body).RootElement.GetProperty("WaitTimeSeconds").GetInt32() == 20);
        Assert.True(LogFiles.HasLine(LogFiles.Read(daemon.LogDirectory), "Job-state events: reading", emulator.EventsQueueUrl!));
    }

    [Fact]
    public async Task DuplicatedReorderedAndDelayedEvents_ChangeNothing_SameSnapshotEachSlotSubmittedOnceNoAttemptSpent()
    {
        // The first attempt of one align job fails (exit 1): its slot's second attempt shows whether attempts are spent right.
        var failing = new JobFaultRule { NamePrefix = "bk-famli-align-s2-", FirstAttempts = 1, ExitCode = 1 };
        var clean = await RunAsync(new FaultSettings { JobRules = [failing] }, "clean");
        var faulty = await RunAsync(
            new FaultSettings
            {
                JobRules = [failing], Seed = 19,
                Events = new EventFaultSettings
                {
                    DuplicateRate = 0.5, DuplicateLag = TimeSpan.FromMilliseconds(700), ReorderRate = 0.5, ReorderHold = TimeSpan.FromSeconds(1),
                    Delay = TimeSpan.FromMilliseconds(300),
                },
            },
            "faulty");

        Assert.Contains(faulty.Events, e => e.Duplicated);
        Assert.Contains(faulty.Events, e => e.Held);
        Assert.Equal(clean.Slots, faulty.Slots);
        // s2's align runs twice (its first attempt fails), and so does its summarise (blocked by that failure, then run again).
        Assert.All(faulty.Submissions, n => Assert.Equal(n.Key.Contains("-s2-", StringComparison.Ordinal) ? 2 : 1, n.Value));
        Assert.Equal(6, faulty.Submissions.Count);
    }

    private sealed record Run(IReadOnlyList<string> Slots, IReadOnlyDictionary<string, int> Submissions, IReadOnlyList<EmulatedJobEvent> Events);

    private async Task<Run> RunAsync(FaultSettings faults, string project)
    {
        var folder = new TempFolder();
        _folders.Add(folder);
        await using var emulator = await StartEmulatorAsync(faults);
        await using var daemon = await StartDaemonAsync(emulator, folder);
        var workflow = DropWorkflow(daemon, project, 3);
        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 6, $"the {project} run completes", TimeSpan.FromSeconds(90));
        await EmptiedAsync(emulator);

        // What a person reads of each slot, without ids and times.
        var slots = done.Slots.Select(s =>
            $"{s.Sample}/{s.Analysis}: {s.State} {s.BatchStatus} attempt {s.Attempt}/{s.MaxAttempts} interruptions {s.Interruptions} exit {s.ExitCode} " +
            string.Join(", ", s.History.Select(h => $"#{h.Attempt} {h.Status} {h.FailureClass} {h.ExitCode}"))).ToList();
        var submissions = emulator.RequestsFor(BatchOperations.SubmitJob).Where(r => r.StatusCode == 200)
            .GroupBy(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("jobName").GetString()!)
            .ToDictionary(g => g.Key, g => g.Count());
        return new Run(slots, submissions, emulator.JobEvents);
    }

    [Fact]
    public async Task EventsLostWhileTheDaemonWasDown_AreMadeUpByTheStartupSweep_EvenWithAStaleEventLeftInTheQueue()
    {
        var folder = _folders[0];
        await using var emulator = await StartEmulatorAsync(runDuration: TimeSpan.FromHours(1));
        string workflow;
        WorkflowSnapshot running;
        await using (var daemon = await StartDaemonAsync(emulator, folder))
        {
            workflow = DropWorkflow(daemon, "sweep", 2);
            running = await TestDaemon.WaitForSnapshotAsync(
                workflow, s => s.Slots.Count(x => x.Analysis == "align" && x.State == SlotState.Running) == 2 && s.Slots.All(x => x.JobId is not null),
                "both aligns running, both summarises submitted");
            await EmptiedAsync(emulator);
        }

        // While the daemon is down every job ends, and every event of it is lost; one stale RUNNING event is still queued.
        // (Once the stopped daemon's long poll is over: a poll its client gave up on would take the message and hide it.)
        await Eventually.WaitAsync(() => emulator.SqsRequestsInFlight == 0, "the stopped daemon's long poll is over");
        emulator.Faults.Update(f => f with { Events = new EventFaultSettings { DropRate = 1 } });
        var align = running.Slots.First(s => s.Analysis == "align");
        emulator.EventsQueue!.Send(StaleRunningEvent(emulator.GetJob(align.JobId!)!));
        await Eventually.WaitAsync(
            () =>
            {
                emulator.EndRuns(emulator.Jobs.Select(j => j.JobId));
                return emulator.Jobs.All(j => j.Status == "SUCCEEDED");
            },
            "every job succeeded while the daemon was down");
        emulator.Faults.Update(f => f with { Events = EventFaultSettings.None });
        emulator.ClearRequests();

        await using (var daemon = await StartDaemonAsync(emulator, folder))
        {
            var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 4, "the restarted daemon sees every end");
            Assert.Equal(running.Slots.Select(s => s.JobId), done.Slots.Select(s => s.JobId));
            var described = emulator.RequestsFor(BatchOperations.DescribeJobs)
                .SelectMany(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("jobs").EnumerateArray().Select(j => j.GetString())).ToHashSet();
            Assert.All(running.Slots, slot => Assert.Contains(slot.JobId, described)); // the start-up sweep asked Batch of every job
            await EmptiedAsync(emulator);
        }

        Assert.Equal(0, Requests(emulator, BatchOperations.SubmitJob));
    }

    /// <summary>A "Batch Job State Change" saying the job is RUNNING, as EventBridge would deliver it again long after.</summary>
    private static string StaleRunningEvent(EmulatedJob job) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["version"] = "0", ["id"] = Guid.NewGuid().ToString(), ["detail-type"] = "Batch Job State Change", ["source"] = "aws.batch",
        ["detail"] = new Dictionary<string, object>
        {
            ["jobId"] = job.JobId, ["jobName"] = job.JobName, ["jobQueue"] = job.JobQueueArn,
            ["status"] = "RUNNING", ["jobDefinition"] = "arn:aws:batch:us-east-1:123456789012:job-definition/famli:14", ["attempts"] = Array.Empty<object>(),
        },
    });

    [Fact]
    public async Task ABadMessage_IsSaidOnceByItsIdAndDeleted_AndTheConsumerGoesOn()
    {
        await using var emulator = await StartEmulatorAsync();
        var badId = emulator.EventsQueue!.Send("not an event: secret-marker-7f3a");
        emulator.EventsQueue.Send("""{"version":"0","id":"1","detail-type":"Batch Job Queue Blocked","source":"aws.batch","detail":{"jobQueue":"spot","statusReason":"secret-marker-7f3a"}}""");
        await using var daemon = await StartDaemonAsync(emulator);
        var workflow = DropWorkflow(daemon, "bad", 1);

        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "the workflow completes by its events");
        await EmptiedAsync(emulator);

        var log = LogFiles.Read(daemon.LogDirectory);
        Assert.Equal(1, LogFiles.CountLines(log, $"Events queue message {badId} is not a Batch job-state event"));
        Assert.DoesNotContain("secret-marker-7f3a", log, StringComparison.Ordinal);
        Assert.Equal(0, Requests(emulator, BatchOperations.DescribeJobs));
    }

    [Theory]
    [InlineData("\"status\":\"RUNNING\",\"attempts\":[null]")]
    [InlineData("\"status\":\"RUNNING\",\"container\":{\"resourceRequirements\":[null]}")]
    [InlineData("\"status\":\"7\"")]
    [InlineData("\"status\":\"RUNNING, FAILED\"")]
    public async Task AJobStateChangeThatCannotBeApplied_IsSaidOnceAndDeleted_AndNeitherStopsTheDaemonNorPassesForAState(string detail)
    {
        // A reviewer's finding: such a message parsed, then threw in the consumer, which stopped the daemon (and, never
        // deleted, came back after every restart); a status such as "7" was taken for one ranking above RUNNING.
        await using var emulator = await StartEmulatorAsync();
        var badId = emulator.EventsQueue!.Send(
            $$$"""{"version":"0","id":"9","detail-type":"Batch Job State Change","source":"aws.batch","detail":{"jobId":"00000000-0000-0000-0000-000000000001","jobName":"bk-x","jobQueue":"arn:aws:batch:us-east-1:123456789012:job-queue/spot",{{{detail}}}}}""");
        await using var daemon = await StartDaemonAsync(emulator);
        var workflow = DropWorkflow(daemon, "odd", 1);

        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "the workflow completes by its events");
        await EmptiedAsync(emulator);
        Assert.Equal(1, LogFiles.CountLines(LogFiles.Read(daemon.LogDirectory), $"Events queue message {badId} is not a Batch job-state event"));
        Assert.Null(DaemonHost.BackgroundServices(daemon.Host).FirstOrDefault(b => b.ExecuteTask is { IsFaulted: true }));
    }

    [Fact]
    public async Task AnUnreadableQueue_IsSaidOnce_JobStatesArePolledMeanwhile_AndEventsTakeOverWhenItIsBack()
    {
        await using var emulator = await StartEmulatorAsync(new FaultSettings
        {
            Events = new EventFaultSettings { ServerErrorRate = 1, Operations = [SqsOperations.ReceiveMessage] },
        });
        await using var daemon = await StartDaemonAsync(emulator, extra: new() { ["Batchkeeper:Aws:MaxAttempts"] = "1" });
        var first = DropWorkflow(daemon, "outage", 2);

        await TestDaemon.WaitForSnapshotAsync(first, s => s.Summary.Complete == 4, "the workflow completes by polling while the queue fails");
        Assert.True(Requests(emulator, BatchOperations.DescribeJobs) > 0);
        var log = LogFiles.Read(daemon.LogDirectory);
        Assert.Equal(1, LogFiles.CountLines(log, "cannot be read"));

        emulator.Faults.Update(f => f with { Events = EventFaultSettings.None });
        await Eventually.WaitAsync(() => LogFiles.HasLine(LogFiles.Read(daemon.LogDirectory), "can be read again after"), "the queue is said to be back");
        await EmptiedAsync(emulator);
        emulator.ClearRequests();
        var second = daemon.WorkflowPath("outage", "second.json");
        Demo.Drop(second, Workflow().Replace("\"famli\"", "\"second\"", StringComparison.Ordinal));
        await TestDaemon.WaitForSnapshotAsync(second, s => s.Summary.Complete == 4, "a second workflow completes by events");
        await EmptiedAsync(emulator);
        Assert.Equal(0, Requests(emulator, BatchOperations.DescribeJobs));
        Assert.Equal(1, LogFiles.CountLines(LogFiles.Read(daemon.LogDirectory), "cannot be read"));
    }
}

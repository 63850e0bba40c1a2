using System.Text.Json;
using Batchkeeper.BatchEmulator;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Aws;

/// <summary>One s3rver for the whole class (its buckets are per test).</summary>
public sealed class S3rverFixture : IAsyncLifetime
{
    public S3rver Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await S3rver.StartAsync("results", "results2", "results3", "results4");

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// The real daemon in <c>Aws</c> mode against the project's Batch emulator (real wire format over HTTP) and
/// s3rver: convergence, exactly one submission per slot, <c>dependsOn</c>, resources, faults and adoption.
/// </summary>
public sealed class AwsEndToEndTests(S3rverFixture s3) : IClassFixture<S3rverFixture>, IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string Workflow(string bucket) => $$"""
        {
          "workflow_name": "famli",
          "analyses": [
            {
              "name": "align", "job_definition": "famli:14", "queue": "spot-test",
              "parameters": { "sample_name": "{sample_name}", "file_name": "{file_name}" },
              "command": ["famli", "align", "--input", "{file_name}", "--attempt", "{attempt}"],
              "environment": { "TMPDIR": "/scratch" },
              "containerOverrides": { "vcpus": 4, "memory": 8000 },
              "tags": { "project": "{project_name}" },
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

    private async Task<(Emulator Emulator, Func<Task<TestDaemon>> Start)> SetUpAsync(FaultSettings? faults = null, Dictionary<string, string?>? extra = null)
    {
        var emulator = await Emulator.StartAsync(new BatchEmulatorOptions { S3ServiceUrl = new Uri(s3.Server.ServiceUrl), Faults = faults });
        return (emulator, () => TestDaemon.StartOnAwsAsync(_folder.Path, emulator.BaseAddress, s3.Server.ServiceUrl, extra));
    }

    private static IEnumerable<JsonElement> SuccessfulSubmissions(Emulator emulator) =>
        emulator.RequestsFor(BatchOperations.SubmitJob).Where(r => r.StatusCode == 200).Select(r => JsonDocument.Parse(r.Body).RootElement);

    [Fact]
    public async Task Workflow_ConvergesOnBatchAndS3_EachSlotSubmittedOnce_WithDependsOnAndResourceRequirements()
    {
        var (emulator, start) = await SetUpAsync();
        await using var emulatorScope = emulator;
        await using var daemon = await start();
        Demo.CreateProject(daemon.Projects, "study", ("s1", 1), ("s2", 2), ("s3", 3), ("s4", 4));
        var workflow = daemon.WorkflowPath("study", "famli.json");
        Demo.Drop(workflow, Workflow("results"));

        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 8, "all eight slots complete");
        Assert.Equal("Aws", done.Backend);

        var submissions = SuccessfulSubmissions(emulator).ToArray();
        Assert.Equal(8, submissions.Length);
        Assert.All(submissions.GroupBy(b => b.GetProperty("jobName").GetString()), g => Assert.Single(g));

        foreach (var sample in new[] { "s1", "s2", "s3", "s4" })
        {
            var align = done.Slots.Single(s => s.Sample == sample && s.Analysis == "align");
            var summarise = done.Slots.Single(s => s.Sample == sample && s.Analysis == "summarise");
            var alignBody = submissions.Single(b => b.GetProperty("jobName").GetString() == align.JobName);
            var summariseBody = submissions.Single(b => b.GetProperty("jobName").GetString() == summarise.JobName);

            Assert.Equal(align.JobId, summariseBody.GetProperty("dependsOn")[0].GetProperty("jobId").GetString());
            Assert.False(alignBody.TryGetProperty("dependsOn", out var none), $"unexpected dependsOn {none}");

            var overrides = alignBody.GetProperty("containerOverrides");
            Assert.False(overrides.TryGetProperty("vcpus", out var vcpus), $"deprecated vcpus {vcpus}");
            Assert.False(overrides.TryGetProperty("memory", out var memory), $"deprecated memory {memory}");
            var resources = overrides.GetProperty("resourceRequirements").EnumerateArray()
                .ToDictionary(r => r.GetProperty("type").GetString()!, r => r.GetProperty("value").GetString());
            Assert.Equal("4", resources["VCPU"]);
            Assert.Equal("8000", resources["MEMORY"]);
            Assert.Equal(["famli", "align", "--input", $"{sample}.txt", "--attempt", "1"], overrides.GetProperty("command").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal("study", alignBody.GetProperty("tags").GetProperty("project").GetString());
            Assert.Equal(sample, alignBody.GetProperty("parameters").GetProperty("sample_name").GetString());
            Assert.Equal("spot-test", alignBody.GetProperty("jobQueue").GetString());
            Assert.Equal("famli:14", alignBody.GetProperty("jobDefinition").GetString());
        }

        Assert.All(emulator.Requests, r => Assert.True(r.IsSigned));
        using var client = s3.Server.CreateClient();
        var listed = await client.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = "results", Prefix = "lab/study/" });
        Assert.Equal(8, listed.S3Objects.Count);
        Assert.All(done.Slots, slot => Assert.NotNull(slot.LogStream));
    }

    [Fact]
    public async Task ThrottlingAndServerErrors_StillConverge_WithoutDuplicateSubmissions()
    {
        var faults = new FaultSettings { ThrottleRate = 0.3, ServerErrorRate = 0.05, Seed = 42 };
        var (emulator, start) = await SetUpAsync(faults);
        await using var emulatorScope = emulator;
        await using var daemon = await start();
        Demo.CreateProject(daemon.Projects, "study", ("s1", 1), ("s2", 2), ("s3", 3), ("s4", 4), ("s5", 5));
        var workflow = daemon.WorkflowPath("study", "famli.json");
        Demo.Drop(workflow, Workflow("results2"));

        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 10, "all ten slots complete despite faults", TimeSpan.FromSeconds(120));

        Assert.Contains(emulator.Requests, r => r.StatusCode == 429);
        Assert.Contains(emulator.Requests, r => r.StatusCode >= 500);
        var submissions = SuccessfulSubmissions(emulator).ToArray();
        Assert.Equal(10, submissions.Length);
        Assert.All(submissions.GroupBy(b => b.GetProperty("jobName").GetString()), g => Assert.Single(g));
        Assert.Equal(10, emulator.Jobs.Count);
        Assert.All(done.Slots, slot => Assert.Equal(slot.JobId, Assert.Single(slot.History).JobId));
    }

    [Fact]
    public async Task DaemonStoppedAfterSubmitJob_BeforeItsSnapshot_AdoptsTheJobAfterRestart()
    {
        // Every SubmitJob is processed, then its answer hangs: the daemon never learns the job id. The job runs
        // long enough to be still running when the daemon comes back (a finished one would just be complete).
        var stall = new FaultSettings
        {
            StallRate = 1.0, StallAfterProcessing = true, StallDuration = TimeSpan.FromMinutes(5), Operations = [BatchOperations.SubmitJob],
            JobRules = [new JobFaultRule { NamePrefix = "bk-famli-align-", Fail = false, RunDuration = TimeSpan.FromSeconds(6) }],
        };
        var (emulator, start) = await SetUpAsync(stall, new() { ["Batchkeeper:Aws:AttemptTimeout"] = "00:00:03" });
        await using var emulatorScope = emulator;
        string workflow;
        await using (var daemon = await start())
        {
            Demo.CreateProject(daemon.Projects, "study", ("s1", 1));
            workflow = daemon.WorkflowPath("study", "famli.json");
            Demo.Drop(workflow, Workflow("results3"));
            await emulator.WaitUntilAsync(jobs => jobs.Count == 1, TimeSpan.FromSeconds(30));
        }

        var stopped = await TestDaemon.ReadSnapshotAsync(workflow);
        Assert.True(stopped is null || stopped.Slots.All(s => s.JobId is null), "the snapshot must not know the job yet");
        var submitted = Assert.Single(emulator.Jobs);

        emulator.Faults.Update(f => f with { StallRate = 0 });
        await using (var daemon = await start())
        {
            var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "the workflow converges after the restart");
            var align = done.Slots.Single(s => s.Analysis == "align");
            Assert.Equal(submitted.JobId, Assert.Single(align.History).JobId);
            await Eventually.WaitAsync(() => ReadLog(daemon).Contains($"Adopted job {submitted.JobId}", StringComparison.Ordinal), "the adoption is logged");
        }

        Assert.Single(emulator.RequestsFor(BatchOperations.SubmitJob), r => JsonDocument.Parse(r.Body).RootElement.GetProperty("jobName").GetString() == submitted.JobName);
        Assert.Equal(2, emulator.Jobs.Count);
    }

    [Fact]
    public async Task Restart_WithJobsRunningAndQueuedInTheSnapshot_SubmitsNothingTwice()
    {
        // Room for two jobs at a time, each running until the test ends it: at the restart two aligns run, two wait
        // in RUNNABLE and four summarises wait on them, and the snapshot holds all eight job ids.
        var emulator = await Emulator.StartAsync(new BatchEmulatorOptions
        {
            S3ServiceUrl = new Uri(s3.Server.ServiceUrl), MaxRunningJobs = 2, RunDuration = TimeSpan.FromHours(1),
        });
        await using var emulatorScope = emulator;
        Task<TestDaemon> Start() => TestDaemon.StartOnAwsAsync(_folder.Path, emulator.BaseAddress, s3.Server.ServiceUrl);
        string workflow;
        WorkflowSnapshot before;
        await using (var daemon = await Start())
        {
            Demo.CreateProject(daemon.Projects, "study", ("s1", 1), ("s2", 2), ("s3", 3), ("s4", 4));
            workflow = daemon.WorkflowPath("study", "famli.json");
            Demo.Drop(workflow, Workflow("results4"));
            await TestDaemon.WaitForSnapshotAsync(
                workflow, s => s.Slots.Count == 8 && s.Slots.All(x => x.JobId is not null) && s.Summary.Running == 2, "eight jobs known, two running");
        }

        before = (await TestDaemon.ReadSnapshotAsync(workflow))!;
        Assert.Equal(2, before.Summary.Running);
        Assert.Equal(0, before.Summary.Complete);
        Assert.All(before.Slots, slot => Assert.NotNull(slot.JobId));
        Assert.Equal(8, SuccessfulSubmissions(emulator).Count());

        var restartedAt = DateTimeOffset.UtcNow;
        await using (var daemon = await Start())
        {
            var after = await TestDaemon.WaitForPassAsync(workflow, restartedAt, "a pass after the restart");
            Assert.Equal(before.Slots.Select(s => s.JobId), after.Slots.Select(s => s.JobId));
            Assert.Equal(8, SuccessfulSubmissions(emulator).Count());

            // Let the jobs end, two at a time: the restarted daemon follows the jobs it already had to the end.
            var done = await TestDaemon.WaitForSnapshotAsync(
                workflow,
                s =>
                {
                    emulator.EndRuns(emulator.Jobs.Select(j => j.JobId));
                    return s.Summary.Complete == 8;
                },
                "all eight slots complete");
            Assert.Equal(before.Slots.Select(s => s.JobId), done.Slots.Select(s => s.JobId));
            Assert.All(done.Slots, slot => Assert.Single(slot.History));
        }

        var submissions = SuccessfulSubmissions(emulator).ToArray();
        Assert.Equal(8, submissions.Length);
        Assert.All(submissions.GroupBy(b => b.GetProperty("jobName").GetString()), g => Assert.Single(g));
        Assert.Equal(8, emulator.Jobs.Count);
    }

    private static string ReadLog(TestDaemon daemon) => LogFiles.Read(daemon.LogDirectory);
}

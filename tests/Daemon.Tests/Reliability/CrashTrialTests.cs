using System.Text.Json;
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
        var environment = new Dictionary<string, string>
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
            foreach (var snapshot in Directory.GetFiles(project, "*.status.json"))
            {
                using var parsed = JsonDocument.Parse(await File.ReadAllBytesAsync(snapshot)); // throws if half-written
            }
        }

        WorkflowSnapshot done;
        await using (var daemon = DaemonProcess.Start(_folder.Path, environment, "run"))
        {
            done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 32, "convergence after the trials", TimeSpan.FromMinutes(3));
        }

        Assert.True(killsDuringSubmit >= 3, $"only {killsDuringSubmit} kills landed during a SubmitJob");
        output.WriteLine($"{emulator.Jobs.Count} jobs, {killsDuringSubmit} kills during a SubmitJob");
        var recorded = done.Slots.SelectMany(s => s.History.Select(h => (s.JobName, h.JobId))).ToHashSet();
        var finishedUnseen = 0;
        foreach (var byName in emulator.Jobs.GroupBy(j => j.JobName))
        {
            var jobs = byName.OrderBy(j => j.CreatedAt).ToArray();
            // Never lost: every job Batch ran for a slot is in the slot's history, except one whose SubmitJob answer
            // was lost to a kill and which finished before any daemon looked again. A SUCCEEDED one made its slot
            // complete through its outputs (design step 2 asks Batch nothing then), so nothing may have been
            // submitted for that slot after it; a FAILED one was replaced, and "never twice" below still holds.
            for (var k = 0; k < jobs.Length; k++)
            {
                if (recorded.Contains((jobs[k].JobName, jobs[k].JobId)))
                {
                    continue;
                }

                finishedUnseen++;
                Assert.True(jobs[k].IsFinal, $"{byName.Key}: job {jobs[k].JobId} is {jobs[k].Status} and in no history");
                if (jobs[k].Status == "SUCCEEDED")
                {
                    Assert.True(k == jobs.Length - 1, $"{byName.Key}: job {jobs[k].JobId} succeeded unseen and the slot was submitted again");
                }
            }

            // Never twice: each job was created only after the one before it had stopped.
            for (var k = 1; k < jobs.Length; k++)
            {
                Assert.True(jobs[k - 1].StoppedAt is { } stopped && stopped <= jobs[k].CreatedAt,
                    $"{byName.Key}: job {jobs[k].JobId} was created while {jobs[k - 1].JobId} was still {jobs[k - 1].Status}");
            }
        }

        output.WriteLine($"{finishedUnseen} jobs finished before any daemon saw them (answers lost to kills)");
    }
}

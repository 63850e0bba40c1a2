using System.Text.Json;
using Batchkeeper.Core.Snapshots;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Reliability;

/// <summary>What the crash trials check after the kills, against what Batch (the emulator) saw.</summary>
internal static class CrashAudit
{
    /// <summary>
    /// Never lost, never twice: every job Batch ran for a slot is in the slot's history, except one whose SubmitJob
    /// answer was lost to a kill and which finished before any daemon looked again; and for every job name, each job was
    /// created only after the one before it had stopped (no slot ever had two jobs at once: at most one per attempt).
    /// </summary>
    /// <returns>How many jobs finished before any daemon saw them.</returns>
    public static int AssertNoJobLostOrSubmittedTwice(Emulator emulator, WorkflowSnapshot done)
    {
        var recorded = done.Slots.SelectMany(s => s.History.Select(h => (s.JobName, h.JobId))).ToHashSet();
        var finishedUnseen = 0;
        foreach (var byName in emulator.Jobs.GroupBy(j => j.JobName))
        {
            var jobs = byName.OrderBy(j => j.CreatedAt).ToArray();
            for (var k = 0; k < jobs.Length; k++)
            {
                if (recorded.Contains((jobs[k].JobName, jobs[k].JobId)))
                {
                    continue;
                }

                // A SUCCEEDED one made its slot complete through its outputs (design step 2 asks Batch nothing then), so
                // nothing may have been submitted for that slot after it; a FAILED one was replaced, and "never twice"
                // below still holds.
                finishedUnseen++;
                Assert.True(jobs[k].IsFinal, $"{byName.Key}: job {jobs[k].JobId} is {jobs[k].Status} and in no history");
                if (jobs[k].Status == "SUCCEEDED")
                {
                    Assert.True(k == jobs.Length - 1, $"{byName.Key}: job {jobs[k].JobId} succeeded unseen and the slot was submitted again");
                }
            }

            for (var k = 1; k < jobs.Length; k++)
            {
                Assert.True(jobs[k - 1].StoppedAt is { } stopped && stopped <= jobs[k].CreatedAt,
                    $"{byName.Key}: job {jobs[k].JobId} was created while {jobs[k - 1].JobId} was still {jobs[k - 1].Status}");
            }
        }

        return finishedUnseen;
    }

    /// <summary>Every snapshot and the dashboard under <paramref name="projects"/> parse as whole JSON documents.</summary>
    public static async Task AssertEverySnapshotParsesAsync(string projects)
    {
        foreach (var file in Directory.GetFiles(projects, "*.status.json", SearchOption.AllDirectories).Append(Path.Combine(projects, "dashboard.json")).Where(File.Exists))
        {
            try
            {
                using var parsed = JsonDocument.Parse(await File.ReadAllBytesAsync(file));
                Assert.True(parsed.RootElement.TryGetProperty("schema", out _), $"{file} has no schema");
            }
            catch (JsonException e)
            {
                Assert.Fail($"{file} does not parse after a kill: {e.Message}");
            }
        }
    }
}

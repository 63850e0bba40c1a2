using System.Text.Json;
using Batchkeeper.BatchEmulator;
using Batchkeeper.Daemon.Aws.Batch.Model;
using Batchkeeper.Daemon.Tests.Aws.Fakes;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Aws;

/// <summary>
/// The real daemon without an events queue, on the emulator and s3rver: a queue of its own is polled with ListJobs by
/// status (five requests for 600 jobs, where DescribeJobs takes six), and once foreign jobs crowd it, with DescribeJobs.
/// </summary>
public sealed class AdaptivePollingEndToEndTests(S3rverFixture s3) : IClassFixture<S3rverFixture>, IDisposable
{
    /// <summary>Enough of our jobs that DescribeJobs takes six calls, one more than the fewest a listing takes.</summary>
    private const int Samples = 600;

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static JsonElement Body(RecordedRequest request) => JsonDocument.Parse(request.Body).RootElement;

    /// <summary>ListJobs by status, as adaptive polling sends it (adoption's listing has a JOB_NAME filter).</summary>
    private static List<JsonElement> StatusListings(Emulator emulator) =>
        [.. emulator.RequestsFor(BatchOperations.ListJobs).Select(Body).Where(b => !b.TryGetProperty("filters", out _))];

    [Fact]
    public async Task AnUnsharedQueue_IsPolledWithListJobsByStatus_AndWithDescribeJobsOnceForeignJobsCrowdIt()
    {
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions
        {
            S3ServiceUrl = new Uri(s3.Server.ServiceUrl), RunDuration = TimeSpan.FromHours(1), TickInterval = TimeSpan.FromMilliseconds(100),
        });
        await using var daemon = await TestDaemon.StartOnAwsAsync(_folder.Path, emulator.BaseAddress, s3.Server.ServiceUrl, new Dictionary<string, string?>
        {
            ["Batchkeeper:Aws:MaxRequestsPerSecond"] = "2000",
            ["Batchkeeper:SubmitParallelism"] = "16",
        });
        Demo.CreateProject(daemon.Projects, "crowd", [.. Enumerable.Range(1, Samples).Select(i => ($"s{i:D3}", 1))]);
        var workflow = daemon.WorkflowPath("crowd", "many.json");
        Demo.Drop(workflow, $$"""
            { "workflow_name": "many", "analyses": [ { "name": "run", "job_definition": "d:1", "queue": "shared", "command": ["run", "{sample_name}"],
              "outputs": ["s3://results/{{Guid.NewGuid():N}}/{sample_name}.out"] } ] }
            """);
        await TestDaemon.WaitForSnapshotAsync(
            workflow, s => s.Summary.Running == Samples && s.Slots.All(x => x.LogStream is not null), "every job running, its log stream known", TimeSpan.FromSeconds(120));
        await Eventually.WaitAsync(() => LogFiles.HasLine(LogFiles.Read(daemon.LogDirectory), "Batch queue shared: job states by ListJobs by status"), "the listing chosen");

        // Steady passes of a queue of our own: a listing of the five active statuses each, and nothing described.
        emulator.ClearRequests();
        await Eventually.WaitAsync(() => StatusListings(emulator).Count >= 15, "three listings");
        var listings = StatusListings(emulator);
        Assert.Empty(emulator.RequestsFor(BatchOperations.DescribeJobs));
        Assert.All(listings, b => Assert.Equal(1000, b.GetProperty("maxResults").GetInt32()));
        // Each listing goes through the active statuses in the order a job does (the first may have begun before the log was cleared).
        var statuses = listings.Select(b => b.GetProperty("jobStatus").GetString()).SkipWhile(s => s != "SUBMITTED").ToList();
        Assert.Equal(["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"], statuses.Take(10));

        // 1,500 other users' jobs join the queue: a listing would take seven requests, DescribeJobs takes six.
        using (var other = TestClients.Batch(emulator.BaseAddress, o => o.MaxRequestsPerSecond = 5000))
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, 1_500), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
                await other.SubmitJobAsync(new SubmitJobRequest { JobName = $"other-lab-{i}", JobQueue = "shared", JobDefinition = "d:1" }, ct));
        }

        await emulator.WaitUntilAsync(jobs => jobs.Count(j => j.Status == "RUNNING") == Samples + 1_500, TimeSpan.FromSeconds(60));
        await Eventually.WaitAsync(() => LogFiles.HasLine(LogFiles.Read(daemon.LogDirectory), "Batch queue shared: job states by DescribeJobs"), "DescribeJobs chosen");

        emulator.ClearRequests();
        await Eventually.WaitAsync(() => emulator.RequestsFor(BatchOperations.DescribeJobs).Count >= 12, "two passes described");
        Assert.Empty(StatusListings(emulator));
        Assert.All(emulator.RequestsFor(BatchOperations.DescribeJobs), r => Assert.InRange(Body(r).GetProperty("jobs").GetArrayLength(), 1, 100));
        var snapshot = await TestDaemon.ReadSnapshotAsync(workflow);
        Assert.Equal(Samples, snapshot!.Summary.Running);
        Assert.Equal(1, LogFiles.CountLines(LogFiles.Read(daemon.LogDirectory), "Batch queue shared: job states by DescribeJobs"));
    }
}

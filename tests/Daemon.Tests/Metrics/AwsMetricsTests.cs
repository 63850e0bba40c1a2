using Batchkeeper.BatchEmulator;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Metrics;
using Batchkeeper.Daemon.Tests.Aws;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Metrics;

/// <summary>
/// <c>/metrics</c> of the real daemon on the AWS backend, against the Batch emulator (with throttling and server errors
/// injected) and s3rver: every attempt the emulator answered is counted once, by operation and outcome.
/// </summary>
public sealed class AwsMetricsTests(S3rverFixture s3) : IClassFixture<S3rverFixture>, IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private const string Workflow = """
        {
          "workflow_name": "famli",
          "analyses": [
            { "name": "align", "job_definition": "famli:14", "queue": "spot-test",
              "command": ["famli", "align", "{sample_name}"], "containerOverrides": { "vcpus": 2, "memory": 2000 },
              "retry": { "max_attempts": 3, "memory_factor": 1.5, "max_memory": 5000 },
              "outputs": ["s3://results/metrics/align/{sample_name}.json.gz"] },
            { "name": "summarise", "job_definition": "summary:2", "queue": "spot-test",
              "command": ["summarise", "{sample_name}"],
              "outputs": ["s3://results/metrics/summary/{sample_name}.tsv"] }
          ]
        }
        """;

    /// <summary>What the emulator answered, by operation and outcome, as the daemon should have counted it.</summary>
    private static Dictionary<(string Operation, string Outcome), double> Answered(Emulator emulator) =>
        emulator.Requests.GroupBy(r => (r.Operation, BackendOutcomes.Of(r.StatusCode, throttled: false)))
            .ToDictionary(g => g.Key, g => (double)g.Count());

    private static Dictionary<(string Operation, string Outcome), double> Counted(Scrape scrape, string service) =>
        scrape.Samples.Where(s => s.Name == "batchkeeper_backend_requests_total" && s.Label("service") == service)
            .ToDictionary(s => (s.Label("operation")!, s.Label("outcome")!), s => s.Value);

    [SkippableFact]
    public async Task OnAws_EveryBatchAttemptIsCountedByOperationAndOutcome_TheEmulatorsThrottlingShowsAsThrottled_AndS3IsCounted()
    {
        await PrometheusText.SkipIfMissingAsync();
        var faults = new FaultSettings
        {
            ThrottleRate = 0.3, ServerErrorRate = 0.05, Seed = 42,
            JobRules = [JobFaultRule.OutOfMemory("bk-famli-align-", firstAttempts: 1)],
        };
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions { S3ServiceUrl = new Uri(s3.Server.ServiceUrl), Faults = faults });
        await using var daemon = await TestDaemon.StartOnAwsAsync(_folder.Path, emulator.BaseAddress, s3.Server.ServiceUrl);
        using var http = await MetricsEndpointTests.ClientOf(daemon);
        Demo.CreateProject(daemon.Projects, "study", ("s1", 1), ("s2", 2), ("s3", 3));
        var workflow = daemon.WorkflowPath("study", "famli.json");
        Demo.Drop(workflow, Workflow);

        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 6, "all six slots complete despite the faults", TimeSpan.FromSeconds(120));

        // Once the daemon has nothing more to ask, its counts and the emulator's answers agree exactly: each attempt once,
        // the retried ones included, none that was not sent.
        var scrape = await MetricsEndpointTests.ScrapeUntilAsync(
            http, s => s.Value("batchkeeper_slots", ("workflow", "famli"), ("state", "complete")) == 6
                && Counted(s, "batch").OrderBy(p => p.Key).SequenceEqual(Answered(emulator).OrderBy(p => p.Key)),
            "the last pass in the scrape, and the batch counts equal to the emulator's answers");
        var counted = Counted(scrape, "batch");
        Assert.True(counted.GetValueOrDefault((BatchOperations.SubmitJob, BackendOutcomes.Throttled)) > 0, "some SubmitJob throttled");
        Assert.True(counted.Where(p => p.Key.Outcome == BackendOutcomes.Throttled).Sum(p => p.Value) > 0);
        Assert.True(counted.Where(p => p.Key.Outcome == BackendOutcomes.ServerError).Sum(p => p.Value) > 0);
        Assert.Equal(emulator.RequestsFor(BatchOperations.SubmitJob).Count(r => r.StatusCode == 200), counted[(BatchOperations.SubmitJob, BackendOutcomes.Ok)]);

        // S3 through the SDK's own client: the outputs were asked about, and answered.
        var s3Counted = Counted(scrape, "s3");
        Assert.True(s3Counted.Where(p => p.Key.Outcome == BackendOutcomes.Ok).Sum(p => p.Value) > 0, $"S3 counted: {string.Join(", ", s3Counted)}");
        Assert.All(s3Counted.Keys, k => Assert.Contains(k.Operation, (string[])["HeadObject", "ListObjectsV2"]));

        // The status page's requests per minute are fed by the same attempts.
        var rates = daemon.Host.Services.GetRequiredService<RequestRates>().LastMinute();
        Assert.True(rates["batch"].Throttled > 0 && rates["batch"].Requests >= rates["batch"].Throttled);
        Assert.True(rates["s3"].Requests > 0);

        // From the feed: the slots; each align job's out-of-memory first attempt (and the summarise jobs that depended on
        // it, blocked, when they were submitted before it failed): one failure per failed job, one submission per job.
        Assert.Equal(MetricsEndpointTests.Summary(done.Summary), scrape.Samples
            .Where(s => s.Name == "batchkeeper_slots" && s.Label("project") == "study" && s.Label("workflow") == "famli").ToDictionary(s => s.Label("state")!, s => s.Value));
        Assert.Equal(3, scrape.Value("batchkeeper_slot_failures_total", ("workflow", "famli"), ("class", FailureClass.OutOfMemory.ToWire())));
        var failedJobs = emulator.Jobs.Where(j => j.Status == "FAILED").ToList();
        Assert.Equal(failedJobs.Count, scrape.Value("batchkeeper_slot_failures_total", ("workflow", "famli")));
        Assert.Equal(failedJobs.Count - 3, scrape.Value("batchkeeper_slot_failures_total", ("workflow", "famli"), ("class", FailureClass.Blocked.ToWire())));
        Assert.Equal(emulator.Jobs.Count, scrape.Value("batchkeeper_submissions_total", ("project", "study"), ("workflow", "famli")));
        Assert.Equal("Aws", Assert.Single(scrape.Samples, s => s.Name == "batchkeeper_build_info").Label("backend"));

        var (code, problems) = await PrometheusText.LintAsync(scrape.Text);
        Assert.True(code == 0 && problems.Trim().Length == 0, $"promtool check metrics (exit code {code}):\n{problems}");
    }

    [SkippableFact]
    public async Task OnAws_WithAnEventsQueue_SqsAttemptsAreCountedUnderSqsByOperation_AndNoneUnderS3()
    {
        await PrometheusText.SkipIfMissingAsync();
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions
        {
            S3ServiceUrl = new Uri(s3.Server.ServiceUrl),
            EventsQueue = "batchkeeper-events",
            EventRule = { JobQueues = { "spot-test" }, JobNamePrefix = "bk-" },
            RunDuration = TimeSpan.FromMilliseconds(100),
        });
        await using var daemon = await TestDaemon.StartOnAwsAsync(_folder.Path, emulator.BaseAddress, s3.Server.ServiceUrl, new Dictionary<string, string?>
        {
            ["Batchkeeper:Aws:EventsQueueUrl"] = emulator.EventsQueueUrl,
            ["Batchkeeper:Aws:SqsServiceUrl"] = emulator.BaseAddress.ToString(),
        });
        using var http = await MetricsEndpointTests.ClientOf(daemon);
        Demo.CreateProject(daemon.Projects, "study", ("s1", 1));
        var workflow = daemon.WorkflowPath("study", "famli.json");
        Demo.Drop(workflow, Workflow.Replace("s3://results/metrics/", $"s3://results/{Guid.NewGuid():N}/", StringComparison.Ordinal));
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "both slots complete", TimeSpan.FromSeconds(120));

        // The job-state events were received and, once applied, deleted: both counted as SQS's.
        var scrape = await MetricsEndpointTests.ScrapeUntilAsync(
            http, s => Counted(s, "sqs").GetValueOrDefault(("DeleteMessageBatch", BackendOutcomes.Ok)) > 0, "a deletion of events counted");
        Assert.True(Counted(scrape, "sqs").GetValueOrDefault(("ReceiveMessage", BackendOutcomes.Ok)) > 0, $"SQS counted: {string.Join(", ", Counted(scrape, "sqs"))}");
        Assert.All(Counted(scrape, "s3").Keys, k => Assert.Contains(k.Operation, (string[])["HeadObject", "ListObjectsV2"]));
        Assert.True(daemon.Host.Services.GetRequiredService<RequestRates>().LastMinute()["sqs"].Requests > 0);
    }
}

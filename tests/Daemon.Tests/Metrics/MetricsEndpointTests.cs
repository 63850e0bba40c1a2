using System.Net;
using System.Net.Http.Headers;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Metrics;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Batchkeeper.Daemon.Web;
using Microsoft.Extensions.DependencyInjection;

namespace Batchkeeper.Daemon.Tests.Metrics;

/// <summary>
/// <c>/metrics</c> of a real daemon on the local backend (real processes), scraped over HTTP and read by Prometheus's
/// own parser and linter (<see cref="PrometheusText"/>).
/// </summary>
public sealed class MetricsEndpointTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    internal static async Task<HttpClient> ClientOf(TestDaemon daemon, string? token = null)
    {
        var http = new HttpClient { BaseAddress = await daemon.Host.Services.GetRequiredService<StatusServer>().Address.WaitAsync(TimeSpan.FromSeconds(30)) };
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return http;
    }

    /// <summary>One scrape, its text and its samples as the official parser reads them.</summary>
    internal static async Task<Scrape> ScrapeAsync(HttpClient http)
    {
        using var answer = await http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(DaemonMetrics.ContentType, answer.Content.Headers.ContentType?.ToString());
        var text = await answer.Content.ReadAsStringAsync();
        var (families, samples) = await PrometheusText.ParseAsync(text);
        return new Scrape(text, families, samples);
    }

    /// <summary>Scrapes until <paramref name="done"/> holds of a scrape.</summary>
    internal static Task<Scrape> ScrapeUntilAsync(HttpClient http, Func<Scrape, bool> done, string what, TimeSpan? timeout = null) =>
        Eventually.WaitAsync(async () => (Scrape?)await ScrapeAsync(http), s => s is not null && done(s), what, timeout, s => s?.Text ?? "no scrape");

    /// <summary>
    /// A daemon (after the tools are checked) with project <c>demo</c> of two samples, and a client of its status server;
    /// <paramref name="workflows"/> dropped into it (<c>wordcount.json</c> is the demo, <c>failing.json</c> fails).
    /// </summary>
    private async Task<DemoDaemon> StartDemoAsync(IDictionary<string, string?>? settings = null, string? token = null, params string[] workflows)
    {
        await PrometheusText.SkipIfMissingAsync();
        var daemon = await TestDaemon.StartAsync(_folder.Path, settings);
        Demo.CreateProject(daemon.Projects, "demo", ("alpha", 3), ("beta", 5));
        var running = new DemoDaemon(daemon, await ClientOf(daemon, token));
        foreach (var workflow in workflows)
        {
            Demo.Drop(daemon.WorkflowPath("demo", workflow), workflow == "failing.json" ? Demo.Failing : Demo.Workflow);
        }

        return running;
    }

    private sealed class DemoDaemon(TestDaemon daemon, HttpClient http) : IAsyncDisposable
    {
        public TestDaemon Daemon => daemon;

        public HttpClient Http => http;

        public string Wordcount => daemon.WorkflowPath("demo", "wordcount.json");

        public string Failing => daemon.WorkflowPath("demo", "failing.json");

        public async ValueTask DisposeAsync()
        {
            http.Dispose();
            await daemon.DisposeAsync();
        }
    }

    [SkippableFact]
    public async Task Scrape_OfTheDemo_ParsesAndLints_SlotsByStateMatchTheSnapshotSummary_AndPassesSubmissionsAndFailuresAreCounted()
    {
        await using var demo = await StartDemoAsync(workflows: ["wordcount.json", "failing.json"]);
        var http = demo.Http;
        var done = await TestDaemon.WaitForSnapshotAsync(demo.Wordcount, s => s.Summary.Complete == 4, "the demo complete");
        var failed = await TestDaemon.WaitForSnapshotAsync(demo.Failing, s => s.Summary.Failed == 2, "both failing slots failed for good");
        var scrape = await ScrapeUntilAsync(http, s => s.Value("batchkeeper_slots", ("workflow", "wordcount"), ("state", "complete")) == 4
            && s.Value("batchkeeper_slots", ("workflow", "failing"), ("state", "failed")) == 2, "the slots of both workflows in the scrape");

        foreach (var (snapshot, name) in new[] { (done, "wordcount"), (failed, "failing") })
        {
            var byState = scrape.Samples.Where(s => s.Name == "batchkeeper_slots" && s.Label("project") == "demo" && s.Label("workflow") == name)
                .ToDictionary(s => s.Label("state")!, s => s.Value);
            Assert.Equal(Summary(snapshot.Summary), byState);
            Assert.Equal("gauge", scrape.Samples.First(s => s.Name == "batchkeeper_slots").Type);
        }

        Assert.Equal(2, scrape.Value("batchkeeper_workflows"));
        Assert.Equal(4, scrape.Value("batchkeeper_submissions_total", ("project", "demo"), ("workflow", "wordcount")));
        Assert.Equal(2, scrape.Value("batchkeeper_submissions_total", ("workflow", "failing")));
        Assert.Equal(2, scrape.Value("batchkeeper_slot_failures_total", ("workflow", "failing"), ("class", FailureClass.Failed.ToWire())));
        Assert.Equal(0, scrape.Value("batchkeeper_slot_failures_total", ("workflow", "wordcount")));
        Assert.Equal(0, scrape.Value("batchkeeper_workflow_errors", ("workflow", "wordcount")));

        // Passes: every one ran to its end (ok), and the histogram saw each of them.
        var ok = scrape.Value("batchkeeper_passes_total", ("outcome", "ok"));
        Assert.True(ok >= 4, $"at least two passes per workflow, got {ok}");
        Assert.Equal(0, scrape.Value("batchkeeper_passes_total", ("outcome", "failed")));
        Assert.Equal(0, scrape.Value("batchkeeper_pass_failures_total"));
        Assert.Equal("counter", scrape.Samples.First(s => s.Name == "batchkeeper_passes_total").Type);
        Assert.Equal("histogram", scrape.Samples.First(s => s.Name == "batchkeeper_pass_duration_seconds_count").Type);
        Assert.True(scrape.Value("batchkeeper_pass_duration_seconds_count") >= ok);
        Assert.True(scrape.Value("batchkeeper_pass_duration_seconds_bucket", ("le", "+Inf")) >= ok);

        // The daemon itself: its version, the lock, the loop, and the process metrics a Prometheus user expects.
        var build = Assert.Single(scrape.Samples, s => s.Name == "batchkeeper_build_info");
        Assert.Equal(typeof(DaemonMetrics).Assembly.GetName().Version!.ToString(3), build.Label("version"));
        Assert.Equal("Local", build.Label("backend"));
        Assert.Equal(1, scrape.Value("batchkeeper_lock_held"));
        Assert.Equal(1, scrape.Value("batchkeeper_loop_healthy"));
        Assert.True(scrape.Value("process_resident_memory_bytes") > 10_000_000);
        Assert.True(scrape.Value("process_cpu_seconds_total") > 0);
        Assert.Contains(scrape.Samples, s => s.Name == "process_start_time_seconds");
        Assert.Contains(scrape.Samples, s => s.Name == "dotnet_collection_count_total");

        var (code, problems) = await PrometheusText.LintAsync(scrape.Text);
        Assert.True(code == 0 && problems.Trim().Length == 0, $"promtool check metrics (exit code {code}):\n{problems}");
    }

    /// <summary>The snapshot's summary as the <c>state</c> label names it.</summary>
    internal static Dictionary<string, double> Summary(SnapshotSummary s) => new()
    {
        ["waiting"] = s.Waiting, ["queued"] = s.Queued, ["running"] = s.Running, ["retrying"] = s.Retrying, ["complete"] = s.Complete,
        ["failed"] = s.Failed, ["blocked"] = s.Blocked, ["invalid"] = s.Invalid, ["cancelled"] = s.Cancelled,
    };

    [SkippableFact]
    public async Task AWorkflowRemoved_AllItsSeriesDisappear_TheOthersStay()
    {
        await using var demo = await StartDemoAsync(workflows: ["wordcount.json", "failing.json"]);
        await ScrapeUntilAsync(demo.Http, s => s.Value("batchkeeper_slot_failures_total", ("workflow", "failing")) == 2
            && s.Samples.Any(x => x.Label("workflow") == "wordcount"), "both workflows' series, the failures counted");

        File.Delete(demo.Failing);
        var scrape = await ScrapeUntilAsync(demo.Http, s => s.Value("batchkeeper_workflows") == 1, "one workflow managed");

        Assert.DoesNotContain(scrape.Samples, s => s.Label("workflow") == "failing");
        Assert.Contains(scrape.Samples, s => s.Name == "batchkeeper_slots" && s.Label("workflow") == "wordcount");
        Assert.Contains(scrape.Samples, s => s.Name == "batchkeeper_submissions_total" && s.Label("workflow") == "wordcount");
    }

    [SkippableFact]
    public async Task WithATokenAndWebhooks_MetricsNeedTheToken_PostsAreCountedByWebhookIndex_AndNoLabelOrLineHoldsASecret()
    {
        const string token = "m3trics-t0ken-never-in-a-label";
        await using var receiver = await WebhookReceiver.StartAsync();
        var flakyAnswered = 0;
        // The first hook fails once, then takes every post; the second refuses them for good.
        receiver.Answer = post => post.Path.Contains("/gone/", StringComparison.Ordinal) ? (404, null)
            : Interlocked.Increment(ref flakyAnswered) == 1 ? (503, null) : (200, null);
        await using var demo = await StartDemoAsync(new Dictionary<string, string?>
        {
            ["Batchkeeper:Web:Token"] = token,
            ["Batchkeeper:Notifications:Directory"] = _folder.Combine("notify"),
            ["Batchkeeper:Notifications:RetryBackoff"] = "00:00:00.200",
            ["Batchkeeper:Notifications:MaxRetryBackoff"] = "00:00:01",
            ["Batchkeeper:Notifications:Webhooks:0:Url"] = receiver.Url("flaky"),
            ["Batchkeeper:Notifications:Webhooks:0:Format"] = "json",
            ["Batchkeeper:Notifications:Webhooks:1:Url"] = receiver.Url("gone"),
            ["Batchkeeper:Notifications:Webhooks:1:Format"] = "json",
        }, token, "failing.json");
        using var anonymous = await ClientOf(demo.Daemon);
        using var unauthorized = await anonymous.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);

        var http = demo.Http;
        await Eventually.WaitAsync(() => receiver.PostsTo("flaky").Count > 0 && receiver.Attempts.Any(a => a.Post.Path.Contains("/gone/", StringComparison.Ordinal)),
            "the first hook took a post after failing once; the second refused one");

        int Answered(string hook, int status) => receiver.Attempts.Count(a => a.Post.Path.Contains($"/{hook}/", StringComparison.Ordinal) && a.Status == status);
        var scrape = await ScrapeUntilAsync(http, s =>
            s.Value("batchkeeper_notification_deliveries_total", ("webhook", "0"), ("outcome", "retried")) == Answered("flaky", 503)
            && s.Value("batchkeeper_notification_deliveries_total", ("webhook", "0"), ("outcome", "delivered")) == Answered("flaky", 200)
            && s.Value("batchkeeper_notification_deliveries_total", ("webhook", "1"), ("outcome", "dropped")) == Answered("gone", 404)
            && s.Value("batchkeeper_notification_deliveries_total", ("webhook", "1")) == Answered("gone", 404),
            "every post counted under its webhook's index and outcome");
        Assert.True(scrape.Value("batchkeeper_notification_deliveries_total", ("webhook", "0"), ("outcome", "retried")) >= 1);
        Assert.True(scrape.Value("batchkeeper_notification_deliveries_total", ("webhook", "0"), ("outcome", "delivered")) >= 1);

        foreach (var secret in new[] { token, receiver.Secret, receiver.Url("flaky"), receiver.Url("gone"), "127.0.0.1:" + receiver.Port })
        {
            Assert.DoesNotContain(scrape.Samples, s => s.Labels.Values.Any(v => v.Contains(secret, StringComparison.Ordinal)));
            Assert.DoesNotContain(secret, scrape.Text, StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public async Task ASnapshotAndADashboardThatCannotBeWritten_AreCountedAsWriteFailures_AndThePassAsFailed()
    {
        await using var demo = await StartDemoAsync();
        // A folder where each file goes: the atomic rename over it fails, as on a read-only or broken folder.
        Directory.CreateDirectory(Daemon.Snapshots.FileSnapshotStore.PathFor(demo.Wordcount));
        // The dashboard is the heartbeat, written from the start: the folder takes the place of the file between two writes.
        var dashboard = Path.Combine(demo.Daemon.Projects, Daemon.Watching.WorkflowFiles.Dashboard);
        await Eventually.WaitAsync(() => ReplaceWithFolder(dashboard), "a folder where the dashboard goes");
        Demo.Drop(demo.Wordcount, Demo.Workflow);

        // The pass still publishes what it did: the demo runs to its end while no snapshot can be written.
        // Every pass of it failed, for that reason alone (read between two passes: a pass counts its failure, then itself).
        var scrape = await ScrapeUntilAsync(demo.Http, s => s.Value("batchkeeper_slots", ("workflow", "wordcount"), ("state", "complete")) == 4
            && s.Value("batchkeeper_snapshot_write_failures_total", ("file", "dashboard")) >= 1
            && s.Value("batchkeeper_passes_total", ("outcome", "failed")) == s.Value("batchkeeper_pass_failures_total", ("reason", "snapshot_write")),
            "the demo complete, its writes failing");

        var failed = scrape.Value("batchkeeper_passes_total", ("outcome", "failed"));
        Assert.True(failed >= 2, $"every pass of the workflow failed to write its snapshot, got {failed}");
        Assert.Equal(0, scrape.Value("batchkeeper_passes_total", ("outcome", "ok")));
        Assert.Equal(0, scrape.Value("batchkeeper_pass_failures_total", ("reason", "reconcile")));
        Assert.True(scrape.Value("batchkeeper_snapshot_write_failures_total", ("file", "status")) >= failed);
    }

    private static bool ReplaceWithFolder(string path)
    {
        try
        {
            File.Delete(path);
            Directory.CreateDirectory(path);
            return true;
        }
        catch (IOException)
        {
            return false; // written again in between
        }
    }

    [SkippableFact]
    public async Task TheReadmesMetricsTable_IsWhatIsExported_NameTypeLabelsAndHelp_AndItsScrapeConfigIsValidForPrometheus()
    {
        await using var demo = await StartDemoAsync(workflows: "failing.json");
        var readme = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "README.md"));
        var section = readme[readme.IndexOf("\n## Metrics\n", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n## ", 5, StringComparison.Ordinal)];
        // | `name` | type | `label`, `label` | help |
        var rows = section.Split('\n').Where(l => l.StartsWith("| `batchkeeper_", StringComparison.Ordinal))
            .Select(l => l.Split(" | ")).ToDictionary(
                cells => cells[0].Trim('|', ' ', '`'),
                cells => (Type: cells[1], Labels: cells[2].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(c => c.Trim('`')).Order().ToArray(),
                    Help: cells[3].TrimEnd('|', ' ').Replace("\\|", "|", StringComparison.Ordinal)));

        var scrape = await ScrapeUntilAsync(demo.Http, s => s.Value("batchkeeper_slot_failures_total") == 2, "a workflow's series, its failures among them");

        var exported = scrape.Families.Where(f => f.Name.StartsWith("batchkeeper_", StringComparison.Ordinal))
            .ToDictionary(f => f.Type == "counter" ? f.Name + "_total" : f.Name);
        Assert.Equal(rows.Keys.Order(), exported.Keys.Order());
        foreach (var (name, family) in exported)
        {
            Assert.Equal((name, rows[name].Type, rows[name].Help), (name, family.Type, family.Help));
            var labels = scrape.Samples.Where(s => s.Family == family.Name).SelectMany(s => s.Labels.Keys).Where(l => l != "le").Distinct().Order().ToArray();
            if (scrape.Samples.Any(s => s.Family == family.Name)) // a family without samples yet shows no labels
            {
                Assert.Equal((name, string.Join(", ", rows[name].Labels)), (name, string.Join(", ", labels)));
            }
        }

        var config = section[(section.IndexOf("```yaml\n", StringComparison.Ordinal) + 8)..];
        var (code, output) = await PrometheusText.CheckConfigAsync(config[..config.IndexOf("```", StringComparison.Ordinal)]);
        Assert.True(code == 0, $"promtool check config of the README's scrape config (exit code {code}):\n{output}");
    }

    [Fact]
    public async Task WithWebDisabled_NoMetricsExistAndNothingListens_ButTheDaemonStillReconciles()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path, new Dictionary<string, string?> { ["Batchkeeper:Web:Enabled"] = "false" });
        Demo.CreateProject(daemon.Projects, "demo", ("alpha", 3));
        var wordcount = daemon.WorkflowPath("demo", "wordcount.json");
        Demo.Drop(wordcount, Demo.Workflow);
        await TestDaemon.WaitForSnapshotAsync(wordcount, s => s.Summary.Complete == 2, "the demo complete");

        Assert.Null(daemon.Host.Services.GetService<StatusServer>());
        Assert.Null(daemon.Host.Services.GetService<DaemonMetrics>());
        Assert.Null(daemon.Host.Services.GetService<BackendRequests>());
        Assert.DoesNotContain(daemon.Host.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>(), s => s is MetricsFeed);
    }
}

/// <summary>A scrape's text and what the parser read of it.</summary>
public sealed record Scrape(string Text, IReadOnlyList<PrometheusFamily> Families, IReadOnlyList<PrometheusSample> Samples)
{
    /// <summary>The sum of the samples named <paramref name="name"/> with these labels (0 when there are none).</summary>
    public double Value(string name, params (string Label, string Value)[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l => s.Label(l.Label) == l.Value)).Sum(s => s.Value);
}

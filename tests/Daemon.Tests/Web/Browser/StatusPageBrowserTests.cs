using System.Diagnostics;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Batchkeeper.Daemon.Web;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Batchkeeper.Daemon.Tests.Web.Browser;

/// <summary>
/// The status page in a real headless Chromium against a real daemon on the local backend: live progress without a
/// reload, a failing slot's reason and log, sample names holding markup shown as text, no CSP violation, a workflow of
/// 1,000 samples × 3 analyses, and a stop with the page open. Each test also fails on any console error, page error,
/// dialog or CSP violation (<see cref="WatchedPage"/>). Skipped, saying why, where no Chromium can be had.
/// </summary>
[Trait("Category", "Browser")]
public sealed class StatusPageBrowserTests(ChromiumFixture chromium) : IClassFixture<ChromiumFixture>, IDisposable
{
    internal static readonly LocatorAssertionsToHaveAttributeOptions Long = new() { Timeout = 60_000 };

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    internal static async Task<Uri> AddressOf(TestDaemon daemon) =>
        await daemon.Host.Services.GetRequiredService<StatusServer>().Address.WaitAsync(TimeSpan.FromSeconds(30));

    /// <summary>Skips the test, saying why, where no browser can be had: called first, before a daemon is started.</summary>
    private void RequireBrowser() => Skip.If(chromium.SkipReason is not null, chromium.SkipReason);

    private async Task<WatchedPage> OpenAsync(TestDaemon daemon, string path)
    {
        var watched = await chromium.NewPageAsync(await AddressOf(daemon));
        await watched.Page.GotoAsync(path);
        await Expect(watched.Page.Locator("#live")).ToHaveTextAsync("live", new() { Timeout = 30_000 });
        return watched;
    }

    private static ILocator Cell(IPage page, string sample, string analysis) =>
        page.Locator($"button.cell[title^=\"{sample.Replace("\"", "\\\"", StringComparison.Ordinal)} / {analysis}:\"]");

    [SkippableFact]
    public async Task Overview_ShowsTheDemoWorkflowAppearAndReachComplete_LiveWithoutAReload()
    {
        RequireBrowser();
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        await using var watched = await OpenAsync(daemon, "/");
        var page = watched.Page;
        await Expect(page.Locator(".workflows .empty")).ToContainTextAsync("No managed workflows yet");
        await page.EvaluateAsync("() => { window.__marker = 'still the same page'; }");

        Demo.CreateProject(daemon.Projects, "demo", ("alpha", 3), ("beta", 5), ("gamma", 8));
        Demo.Drop(daemon.WorkflowPath("demo", "wordcount.json"), Demo.Workflow);

        var row = page.Locator("tr[data-workflow='demo/wordcount']");
        await Expect(row.Locator("[role=progressbar]")).ToHaveAttributeAsync("aria-valuenow", "6", Long);
        await Expect(row.Locator(".count-main")).ToHaveTextAsync("6 of 6 complete");
        await Expect(row.Locator(".seg.s-complete")).ToHaveCountAsync(1);
        await Expect(row.Locator("a.wf-link")).ToHaveTextAsync("wordcount");
        await Expect(page.Locator("#daemon")).ToContainTextAsync("lock held");
        Assert.Equal("still the same page", await page.EvaluateAsync<string>("window.__marker"));
        Assert.Equal(1, watched.Loads);
        await watched.AssertNoProblemsAsync();
    }

    [SkippableFact]
    public async Task ClickingAFailingSlot_ShowsItsAttemptsReasonExitCodeAndLog()
    {
        RequireBrowser();
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        var project = Path.Combine(daemon.Projects, "lab");
        WorkflowApiTests.WriteMetadata(project, Enumerable.Range(1, 8).Select(i => $"P{i:00}"));
        var workflow = Path.Combine(project, "align.json");
        Demo.Drop(workflow, WorkflowApiTests.FailingWorkflow("align", maxAttempts: 2));
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Slots.Count(x => x.State == SlotState.FailedPermanently) == 2, "P04 and P08 failed twice");

        await using var watched = await OpenAsync(daemon, "/#/w/lab/align");
        var page = watched.Page;
        await Expect(page.Locator(".failure-group")).ToContainTextAsync("exit code 3");
        await Expect(page.Locator(".failure-group .failure-count")).ToHaveTextAsync("2 slots");
        await Cell(page, "P04", "align").ClickAsync();

        var slot = page.Locator(".slot-card");
        await Expect(slot.Locator(".slot-sample")).ToHaveTextAsync("P04");
        await Expect(slot.Locator(".slot-state")).ToContainTextAsync("failed permanently");
        await Expect(slot.Locator(".facts-table")).ToContainTextAsync("Command exited");
        await Expect(slot.Locator(".attempts tbody tr")).ToHaveCountAsync(2);
        await Expect(slot.Locator(".attempts tbody tr").First).ToContainTextAsync("FAILED");
        await Expect(slot.Locator("pre.log")).ToHaveTextAsync("aligning sample 4\nreference genome missing\n");
        await Expect(slot.Locator(".log-box")).ToContainTextAsync("the whole log");
        Assert.Contains("sample=P04", page.Url, StringComparison.Ordinal);
        await watched.AssertNoProblemsAsync();
    }

    [SkippableFact]
    public async Task SampleNamesHoldingMarkup_AreShownAsText_AndNoScriptOfTheirsRuns()
    {
        RequireBrowser();
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        string[] names = ["<script>alert(1)</script>", "<img src=x onerror=window.__pwned=1>", "plain"];
        var project = Path.Combine(daemon.Projects, "xss");
        WorkflowApiTests.WriteMetadata(project, names);
        var workflow = Path.Combine(project, "align.json");
        Demo.Drop(workflow, WorkflowApiTests.FailingWorkflow("align"));
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 6, "every slot complete");

        await using var watched = await OpenAsync(daemon, "/#/w/xss/align");
        var page = watched.Page;
        await Expect(page.Locator("table.grid th.sample")).ToHaveTextAsync(names);
        await Cell(page, names[1], "align").ClickAsync();
        await Expect(page.Locator(".slot-card .slot-sample")).ToHaveTextAsync(names[1]);
        await page.GotoAsync("/#/w/xss/align?q=" + Uri.EscapeDataString("<script>"));
        await Expect(page.Locator("table.grid th.sample")).ToHaveTextAsync([names[0]]);

        Assert.Equal(0, await page.Locator("main img, main script").CountAsync());
        Assert.Equal("undefined", await page.EvaluateAsync<string>("typeof window.__pwned"));
        await watched.AssertNoProblemsAsync(); // no alert dialog either
    }

    [SkippableFact]
    public async Task ThePage_RunsUnderItsContentSecurityPolicy_WhichBlocksAnInlineScript()
    {
        RequireBrowser();
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        Demo.CreateProject(daemon.Projects, "demo", ("alpha", 3));
        var workflow = daemon.WorkflowPath("demo", "wordcount.json");
        Demo.Drop(workflow, Demo.Workflow);
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "the demo completes");

        await using var watched = await OpenAsync(daemon, "/");
        var page = watched.Page;
        await page.Locator("a.wf-link").ClickAsync();
        await Cell(page, "alpha", "report").ClickAsync();
        await Expect(page.Locator("pre.log")).ToBeVisibleAsync();
        await page.Locator("select.state-filter").SelectOptionAsync("complete");
        await Expect(page.Locator("table.grid th.sample")).ToHaveTextAsync(["alpha"]);
        await page.Locator("a", new() { HasText = "Overview" }).ClickAsync();
        await Expect(page.Locator("tr[data-workflow]")).ToHaveCountAsync(1);
        await watched.AssertNoProblemsAsync();

        // And the policy is really in force: an inline script added by hand is refused and reported.
        await page.EvaluateAsync("() => { const s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.body.append(s); }");
        await Expect(page.Locator("body")).ToBeVisibleAsync();
        var violations = await Eventually.WaitAsync(() => page.EvaluateAsync<string[]?>("window.__violations"), v => v!.Length > 0, "the violation is reported");
        Assert.StartsWith("script-src", violations[0], StringComparison.Ordinal);
        Assert.Equal("undefined", await page.EvaluateAsync<string>("typeof window.__inline"));
    }

    [SkippableFact]
    public async Task AWorkflowOf1000SamplesBy3Analyses_ShowsItsGrid_AndFiltersItByState()
    {
        RequireBrowser();
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        var project = Path.Combine(daemon.Projects, "big");
        var samples = Enumerable.Range(1, 1000).Select(i => $"S{i:0000}").ToArray();
        WorkflowApiTests.WriteMetadata(project, samples);
        // Outputs made beforehand, so no job runs, except for every hundredth sample's last analysis: that one fails.
        Directory.CreateDirectory(Path.Combine(project, "out"));
        for (var n = 1; n <= 1000; n++)
        {
            foreach (var analysis in n % 100 == 0 ? ["a", "b"] : new[] { "a", "b", "c" })
            {
                File.WriteAllText(Path.Combine(project, "out", $"{n}.{analysis}"), "");
            }
        }

        var workflow = Path.Combine(project, "wide.json");
        Demo.Drop(workflow, """
            { "workflow_name": "wide", "analyses": [
              { "name": "a", "job_definition": "d:1", "queue": "local", "command": ["true"], "outputs": ["out/{n}.a"] },
              { "name": "b", "job_definition": "d:1", "queue": "local", "command": ["true"], "outputs": ["out/{n}.b"] },
              { "name": "c", "job_definition": "d:1", "queue": "local", "retry": { "max_attempts": 1 }, "command": ["sh", "-c", "echo no; exit 1"], "outputs": ["out/{n}.c"] } ] }
            """);
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2990 && s.Summary.Failed == 10, "2,990 slots complete and 10 failed");

        await using var watched = await OpenAsync(daemon, "/#/w/big/wide");
        var page = watched.Page;
        var clock = Stopwatch.StartNew();
        await Expect(page.Locator("table.grid")).ToHaveAttributeAsync("data-samples", "1000", Long);
        await Expect(page.Locator("table.grid tbody tr")).ToHaveCountAsync(WorkflowEndpoints.DefaultPageSize);
        await Expect(page.Locator(".pager .page-of")).ToHaveTextAsync("page 1 of 5 · samples 1–200");
        await Expect(page.Locator(".head [role=progressbar]")).ToHaveAttributeAsync("aria-valuenow", "2990");

        await page.Locator("select.state-filter").SelectOptionAsync("failed_permanently");
        await Expect(page.Locator("table.grid th.sample")).ToHaveTextAsync(Enumerable.Range(1, 10).Select(i => $"S{i * 100:0000}").ToArray());
        await Expect(page.Locator("table.grid button.s-failed_permanently")).ToHaveCountAsync(10);
        await Expect(page.Locator(".filters .match")).ToHaveTextAsync("10 of 1,000 samples match");
        await page.Locator("input.sample-filter").FillAsync("S05");
        await Expect(page.Locator("table.grid th.sample")).ToHaveTextAsync(["S0500"]);
        await page.Locator("select.state-filter").SelectOptionAsync("");
        await Expect(page.Locator("table.grid tbody tr")).ToHaveCountAsync(100); // S0500 … S0599
        await page.Locator(".failure-slots a.slot-link").First.ClickAsync();
        await Expect(page.Locator(".slot-card pre.log")).ToHaveTextAsync("no\n");
        await watched.AssertNoProblemsAsync();
        Console.WriteLine($"1,000 × 3 grid shown and filtered in {clock.ElapsedMilliseconds} ms");
    }

    [SkippableFact]
    public async Task StoppingTheDaemon_WithThePageOpen_IsPrompt_AndThePageSaysItReconnects()
    {
        RequireBrowser();
        var daemon = await TestDaemon.StartAsync(_folder.Path);
        WatchedPage? watched = null;
        try
        {
            watched = await OpenAsync(daemon, "/");
            var stopping = Stopwatch.StartNew();
            await daemon.DisposeAsync();
            Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(10), $"the stop took {stopping.Elapsed.TotalSeconds:0.0} s with the page open");
            await Expect(watched.Page.Locator("#live")).ToHaveTextAsync("polling", new() { Timeout = 30_000 });
        }
        finally
        {
            if (watched is not null)
            {
                await watched.DisposeAsync();
            }
        }
    }
}

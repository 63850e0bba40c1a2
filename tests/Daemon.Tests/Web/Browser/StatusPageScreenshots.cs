using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Batchkeeper.Daemon.Tests.Web.Browser;

/// <summary>
/// The README's pictures of the page, taken by the test run from a real daemon in a real Chromium:
/// docs/status-overview.png (three workflows: one complete, one with failures, one running) and
/// docs/status-workflow.png (a workflow's grid with a failed slot's attempts and log open).
/// </summary>
[Trait("Category", "Browser")]
public sealed class StatusPageScreenshots(ChromiumFixture chromium) : IClassFixture<ChromiumFixture>, IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string Docs(string name) => Path.Combine(RepoPaths.Root, "docs", name);

    [SkippableFact]
    public async Task Screenshots_OfTheOverviewAndOfAWorkflowWithAFailedSlotOpen_AreWrittenToDocs()
    {
        Skip.If(chromium.SkipReason is not null, chromium.SkipReason);
        await using var daemon = await TestDaemon.StartAsync(_folder.Path, new Dictionary<string, string?> { ["Batchkeeper:Local:MaxConcurrentJobs"] = "3" });
        Demo.CreateProject(daemon.Projects, "demo", ("alpha", 3), ("beta", 5), ("gamma", 8));
        var demo = daemon.WorkflowPath("demo", "wordcount.json");
        Demo.Drop(demo, Demo.Workflow);

        var lab = Path.Combine(daemon.Projects, "lab");
        WorkflowApiTests.WriteMetadata(lab, Enumerable.Range(1, 40).Select(i => $"NA{12877 + i}"));
        var align = Path.Combine(lab, "align.json");
        Demo.Drop(align, WorkflowApiTests.FailingWorkflow("align", maxAttempts: 2));

        await TestDaemon.WaitForSnapshotAsync(demo, s => s.Summary.Complete == 6, "the demo complete");
        await TestDaemon.WaitForSnapshotAsync(align, s => s.Slots.Count(x => x.State == SlotState.FailedPermanently) == 10, "10 alignments failed for good");

        // Then long jobs (they would hold every local job slot), so the overview shows one workflow running, more queued behind.
        var cohort = Path.Combine(daemon.Projects, "cohort");
        WorkflowApiTests.WriteMetadata(cohort, Enumerable.Range(1, 12).Select(i => $"HG{i:000}"));
        var calls = Path.Combine(cohort, "variants.json");
        Demo.Drop(calls, """
            { "workflow_name": "variants", "analyses": [
              { "name": "call", "job_definition": "gatk:4", "queue": "local", "command": ["sh", "-c", "echo calling; sleep 600"], "outputs": ["out/{n}.vcf"] },
              { "name": "annotate", "job_definition": "vep:110", "queue": "local", "command": ["sh", "-c", "echo annotating"], "outputs": ["out/{n}.ann"] } ] }
            """);
        await TestDaemon.WaitForSnapshotAsync(calls, s => s.Summary.Running >= 1, "variant calling running");

        await using var watched = await chromium.NewPageAsync(await StatusPageBrowserTests.AddressOf(daemon));
        var page = watched.Page;
        await page.GotoAsync("/");
        await Expect(page.Locator("#live")).ToHaveTextAsync("live", new() { Timeout = 30_000 });
        await Expect(page.Locator("tr[data-workflow]")).ToHaveCountAsync(3);
        await Expect(page.Locator("tr[data-workflow='lab/align'] [role=progressbar]")).ToHaveAttributeAsync("aria-valuenow", "70", StatusPageBrowserTests.Long);
        await page.SetViewportSizeAsync(1400, 640);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Docs("status-overview.png"), FullPage = true });
        await page.SetViewportSizeAsync(1400, 1060);

        await page.Locator("a.wf-link", new() { HasText = "align" }).ClickAsync();
        await page.Locator("button.cell[title^='NA12881 / align:']").ClickAsync();
        await Expect(page.Locator(".slot-card pre.log")).ToContainTextAsync("reference genome missing");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Docs("status-workflow.png") });
        await watched.AssertNoProblemsAsync();
        Assert.True(new FileInfo(Docs("status-overview.png")).Length > 10_000);
        Assert.True(new FileInfo(Docs("status-workflow.png")).Length > 10_000);
    }
}

using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Batchkeeper.Daemon.Web;
using Microsoft.Extensions.DependencyInjection;

namespace Batchkeeper.Daemon.Tests.Web;

/// <summary>The workflow JSON API of a real daemon on the local backend: what it lists, how it names, filters and groups, and the logs.</summary>
public sealed class WorkflowApiTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    internal static async Task<HttpClient> ClientOf(TestDaemon daemon) =>
        new() { BaseAddress = await daemon.Host.Services.GetRequiredService<StatusServer>().Address.WaitAsync(TimeSpan.FromSeconds(30)) };

    internal static async Task<JsonNode> GetJsonAsync(HttpClient http, string path, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var answer = await http.GetAsync(path);
        var body = await answer.Content.ReadAsStringAsync();
        Assert.True(answer.StatusCode == expected, $"{path}: HTTP {(int)answer.StatusCode}, expected {(int)expected}: {body}");
        Assert.Equal("application/json", answer.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(body)!;
    }

    /// <summary>A workflow of <paramref name="samples"/> samples × two analyses; the second fails (exit 3, after printing) for every sample whose number is a multiple of 4.</summary>
    internal static string FailingWorkflow(string name, int maxAttempts = 1) => $$"""
        { "workflow_name": "{{name}}", "analyses": [
          { "name": "prep", "job_definition": "d:1", "queue": "local", "command": ["sh", "-c", "mkdir -p out && touch out/{n}.prep"], "outputs": ["out/{n}.prep"] },
          { "name": "align", "job_definition": "d:1", "queue": "local", "retry": { "max_attempts": {{maxAttempts}} },
            "command": ["sh", "-c", "echo aligning sample {n}; if [ $(( {n} % 4 )) -eq 0 ]; then echo 'reference genome missing' >&2; exit 3; fi; touch out/{n}.bam"],
            "outputs": ["out/{n}.bam"] } ] }
        """;

    internal static void WriteMetadata(string project, IEnumerable<string> samples)
    {
        Directory.CreateDirectory(project);
        var lines = samples.Select((s, i) => $"{s},{i + 1}").Prepend("sample_name,n");
        File.WriteAllText(Path.Combine(project, "metadata.csv"), string.Join("\n", lines) + "\n");
    }

    [Fact]
    public async Task Workflows_ListsEveryManagedWorkflowWithoutSlots_AndOneWorkflowIsItsSnapshotFileAsWritten()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        using var http = await ClientOf(daemon);
        Demo.CreateProject(daemon.Projects, "demo", ("alpha", 3), ("beta", 5));
        var workflow = daemon.WorkflowPath("demo", "wc.json"); // the file's name differs from the workflow's, "wordcount"
        Demo.Drop(workflow, Demo.Workflow);
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 4, "the demo completes");

        var list = await Eventually.WaitAsync<JsonNode>(async () => await GetJsonAsync(http, "/api/workflows"), l => l!["workflows"]!.AsArray().Count == 1 && (int)l["workflows"]![0]!["states"]!["complete"]! == 4, "the list shows it complete");
        Assert.Equal("batchkeeper.workflows/1", (string?)list["schema"]);
        var row = list["workflows"]![0]!.AsObject();
        Assert.Equal("demo/wc", (string?)row["id"]);
        Assert.Equal(("demo", "wordcount", "wc.json", "Local"), ((string?)row["project"], (string?)row["workflow"], (string?)row["file"], (string?)row["backend"]));
        foreach (var field in new[] { "definition_sha256", "reconciled_at", "next_reconcile_at", "summary", "errors", "states", "failures" })
        {
            Assert.True(row.ContainsKey(field), field);
        }

        Assert.False(row.ContainsKey("slots"), "the list leaves the slots out");
        Assert.Equal(SlotStateNames.InProgressOrder.Select(s => s.ToWire()), row["states"]!.AsObject().Select(p => p.Key));

        // The file name, the file name with .json and the workflow's own name all find it; the answer is the file's
        // content but for the pass's own times (the file keeps those of the last pass that changed it; read until no
        // pass came between the reads: a pass every 2 s).
        await Eventually.WaitAsync(async () => new[]
        {
            WithoutPassTimes(await GetTextAsync(http, "/api/workflows/demo/wc")),
            WithoutPassTimes(await GetTextAsync(http, "/api/workflows/demo/wc.json")),
            WithoutPassTimes(await GetTextAsync(http, "/api/workflows/demo/wordcount")),
            WithoutPassTimes(await File.ReadAllTextAsync(FileSnapshotPath(workflow))),
        }, texts => texts!.Distinct().Count() == 1, "the API's three names and the file give the same snapshot", describe: t => string.Join("\n---\n", t!.Select(x => x[..Math.Min(400, x.Length)])));

        var missing = await GetJsonAsync(http, "/api/workflows/demo/nothing", HttpStatusCode.NotFound);
        Assert.Equal("no managed workflow 'nothing' in project 'demo'", (string?)missing["error"]);
        await GetJsonAsync(http, "/api/workflows/elsewhere/wc", HttpStatusCode.NotFound);
    }

    /// <summary>The snapshot in the serializer's own form, without the two times every pass moves.</summary>
    private static string WithoutPassTimes(string json)
    {
        var snapshot = JsonSerializer.Deserialize<WorkflowSnapshot>(json, SnapshotJson.Options)!;
        snapshot.ReconciledAt = default;
        snapshot.NextReconcileAt = null;
        return JsonSerializer.Serialize(snapshot, SnapshotJson.Options);
    }

    private static string FileSnapshotPath(string workflow) => Path.ChangeExtension(workflow, ".status.json");

    private static async Task<string> GetTextAsync(HttpClient http, string path)
    {
        using var answer = await http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        return await answer.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task Grid_FiltersByStateAndSampleText_PagesOnTheServer_AndFailuresAreGroupedByClassReasonAndExitCode()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        using var http = await ClientOf(daemon);
        var project = Path.Combine(daemon.Projects, "lab");
        WriteMetadata(project, Enumerable.Range(1, 24).Select(i => $"P{i:00}"));
        var workflow = Path.Combine(project, "align.json");
        Demo.Drop(workflow, FailingWorkflow("align"));
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Slots.Count(x => x.State == SlotState.FailedPermanently) == 6 && s.Summary.Complete == 42, "6 of 24 alignments failed for good");

        var all = await GetJsonAsync(http, "/api/workflows/lab/align/grid?size=10");
        Assert.Equal(["prep", "align"], all["analyses"]!.AsArray().Select(a => (string?)a));
        Assert.Equal((24, 24, 0, 10, 3), ((int)all["samples"]!, (int)all["matching"]!, (int)all["page"]!, (int)all["page_size"]!, (int)all["pages"]!));
        Assert.Equal(Enumerable.Range(1, 10).Select(i => $"P{i:00}"), all["rows"]!.AsArray().Select(r => (string?)r!["sample"]));
        Assert.Equal(["complete", "failed_permanently"], all["rows"]![3]!["states"]!.AsArray().Select(s => (string?)s));
        Assert.Equal((42, 6), ((int)all["workflow"]!["states"]!["complete"]!, (int)all["workflow"]!["states"]!["failed_permanently"]!));

        var last = await GetJsonAsync(http, "/api/workflows/lab/align/grid?size=10&page=2");
        Assert.Equal(["P21", "P22", "P23", "P24"], last["rows"]!.AsArray().Select(r => (string?)r!["sample"]));

        var failed = await GetJsonAsync(http, "/api/workflows/lab/align/grid?state=failed_permanently");
        Assert.Equal(["P04", "P08", "P12", "P16", "P20", "P24"], failed["rows"]!.AsArray().Select(r => (string?)r!["sample"]));
        var text = await GetJsonAsync(http, "/api/workflows/lab/align/grid?state=failed_permanently,retrying&q=p1");
        Assert.Equal(["P12", "P16"], text["rows"]!.AsArray().Select(r => (string?)r!["sample"]));
        Assert.Equal(24, (int)text["samples"]!);
        var wrong = await GetJsonAsync(http, "/api/workflows/lab/align/grid?state=broken", HttpStatusCode.BadRequest);
        Assert.StartsWith("state: 'broken' is no slot state (expected complete, running,", (string?)wrong["error"], StringComparison.Ordinal);

        var failures = await GetJsonAsync(http, "/api/workflows/lab/align/failures");
        var group = Assert.Single(failures["groups"]!.AsArray())!;
        Assert.Equal(("failed", 3, 6), ((string?)group["class"], (int?)group["exit_code"], (int)group["count"]!));
        Assert.False(string.IsNullOrWhiteSpace((string?)group["reason"]));
        Assert.Equal(6, (int)group["states"]!["failed_permanently"]!);
        Assert.Equal("P04", (string?)group["slots"]![0]!["sample"]);

        var row = (await GetJsonAsync(http, "/api/workflows"))["workflows"]![0]!;
        Assert.Equal(6, (int)row["failures"]!["failed"]!);
    }

    [Fact]
    public async Task Slot_IsTheSnapshotsRecordWithItsAttempts_AndItsLogIsTheEndOfTheLogFile_CappedAt64KiB()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        using var http = await ClientOf(daemon);
        var project = Path.Combine(daemon.Projects, "lab");
        WriteMetadata(project, ["a/b slash", "plain"]);
        var workflow = Path.Combine(project, "noisy.json");
        // 100,000 numbered lines (about 590 KB), then a last line, then exit 1: the page gets the end, from a whole line.
        Demo.Drop(workflow, """
            { "workflow_name": "noisy", "analyses": [ { "name": "talk", "job_definition": "d:1", "queue": "local", "retry": { "max_attempts": 1 },
              "command": ["sh", "-c", "seq 1 100000 | sed 's/^/line /'; echo 'the very last line'; exit 1"], "outputs": ["out/{n}.txt"] } ] }
            """);
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Slots.All(x => x.State == SlotState.FailedPermanently), "both jobs failed for good");

        var slot = await GetJsonAsync(http, "/api/workflows/lab/noisy/slot?sample=" + Uri.EscapeDataString("a/b slash") + "&analysis=talk");
        Assert.Equal(("lab/noisy", "Local"), ((string?)slot["id"], (string?)slot["backend"]));
        Assert.Equal(("a/b slash", "failed_permanently", 1), ((string?)slot["slot"]!["sample"], (string?)slot["slot"]!["state"], (int?)slot["slot"]!["exit_code"]));
        var attempt = Assert.Single(slot["slot"]!["history"]!.AsArray())!;
        Assert.Equal((1, 1), ((int)attempt["attempt"]!, (int?)attempt["exit_code"]));

        var log = await GetJsonAsync(http, "/api/workflows/lab/noisy/log?sample=" + Uri.EscapeDataString("a/b slash") + "&analysis=talk");
        Assert.Equal(("file", true, SlotLogEndpoint.MaxBytes), ((string?)log["source"], (bool)log["truncated"]!, (int)log["limit"]!));
        var text = (string)log["text"]!;
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(text) <= SlotLogEndpoint.MaxBytes, $"{text.Length} characters");
        Assert.True(text.Length > SlotLogEndpoint.MaxBytes - 100, "nearly the whole limit is used");
        Assert.Matches("^line [0-9]+\n", text);
        Assert.EndsWith("line 100000\nthe very last line\n", text, StringComparison.Ordinal);
        Assert.True((long)log["bytes"]! > 500_000);

        await GetJsonAsync(http, "/api/workflows/lab/noisy/slot?sample=nobody&analysis=talk", HttpStatusCode.NotFound);
        await GetJsonAsync(http, "/api/workflows/lab/noisy/log?sample=plain&analysis=talk&job=not-a-job", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Log_OfASlotWhoseJobNeverRan_SaysWhyInTheWordsOfBatchkeeperLogs()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        using var http = await ClientOf(daemon);
        Demo.CreateProject(daemon.Projects, "study", ("a", 1));
        var workflow = daemon.WorkflowPath("study", "chain.json");
        Demo.Drop(workflow, """
            { "workflow_name": "chain", "analyses": [
              { "name": "one", "job_definition": "d:1", "queue": "local", "retry": { "max_attempts": 1 }, "command": ["sh", "-c", "echo going wrong; exit 5"], "outputs": ["out/{sample_name}.1"] },
              { "name": "two", "job_definition": "d:1", "queue": "local", "command": ["sh", "-c", "echo two"], "outputs": ["out/{sample_name}.2"] } ] }
            """);
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Slots.Any(x => x.State == SlotState.Blocked && x.History.Count == 1), "the second job failed with its dependency");

        var log = await GetJsonAsync(http, "/api/workflows/study/chain/log?sample=a&analysis=two");
        Assert.Equal("none", (string?)log["source"]);
        Assert.Matches(@"^slot a / two: job [0-9a-f-]+ never ran: its dependency failed \(Dependent Job failed\)$", (string?)log["message"]);
        var first = await GetJsonAsync(http, "/api/workflows/study/chain/log?sample=a&analysis=one");
        Assert.Equal(("file", false, "going wrong\n"), ((string?)first["source"], (bool)first["truncated"]!, (string?)first["text"]));
    }
}

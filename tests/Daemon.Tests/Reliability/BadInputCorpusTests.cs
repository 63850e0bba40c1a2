using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Reliability;

/// <summary>
/// A corpus of broken workflow and metadata files dropped beside a good workflow into one running daemon:
/// each gets a snapshot whose error names the file and the field, the good workflow converges, the daemon stays up.
/// </summary>
public sealed class BadInputCorpusTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private const string Step = """{ "name": "a", "job_definition": "d:1", "queue": "local", "command": ["true"], "outputs": ["out/{sample_name}"] }""";

    private static string Wf(string analyses, string top = "") => $$"""{ "workflow_name": "w" {{top}}, "analyses": [ {{analyses}} ] }""";

    private static string Analysis(string replace, string with) => Step.Replace(replace, with, StringComparison.Ordinal);

    /// <summary>(file, content, what the error must say). Workflows go to project "bad", which has good metadata.</summary>
    public static readonly (string File, string Content, string Expected)[] Workflows =
    [
        ("invalid-json.json", """{ "workflow_name": """, "invalid-json.json: is not valid JSON at line"),
        ("top-array.json", "[1, 2]", "top-array.json: expected a JSON object"),
        ("no-name.json", $$"""{ "analyses": [ {{Step}} ] }""", "no-name.json: workflow_name: required"),
        ("no-analyses.json", """{ "workflow_name": "w" }""", "no-analyses.json: analyses: required"),
        ("empty-analyses.json", """{ "workflow_name": "w", "analyses": [] }""", "empty-analyses.json: analyses: expected a non-empty list"),
        ("no-queue.json", Wf(Analysis("\"queue\": \"local\", ", "")), "no-queue.json: analyses[0].queue: required"),
        ("no-definition.json", Wf(Analysis("\"job_definition\": \"d:1\", ", "")), "no-definition.json: analyses[0].job_definition: required"),
        ("no-outputs.json", Wf(Analysis(", \"outputs\": [\"out/{sample_name}\"]", "")), "no-outputs.json: analyses[0].outputs: required"),
        ("outputs-string.json", Wf(Analysis("[\"out/{sample_name}\"]", "\"out/{sample_name}\"")), "outputs-string.json: analyses[0].outputs: expected a list of strings"),
        ("parameters-list.json", Wf(Analysis("\"command\"", "\"parameters\": [1], \"command\"")), "parameters-list.json: analyses[0].parameters: expected an object"),
        ("vcpus-negative.json", Wf(Analysis("\"command\"", "\"containerOverrides\": { \"vcpus\": -2 }, \"command\"")), "vcpus-negative.json: analyses[0].containerOverrides.vcpus: expected a positive number"),
        ("memory-fraction.json", Wf(Analysis("\"command\"", "\"containerOverrides\": { \"memory\": 10.5 }, \"command\"")), "memory-fraction.json: analyses[0].containerOverrides.memory: expected a whole number"),
        ("typo.json", Wf(Analysis("\"outputs\"", "\"ouputs\"")), "typo.json: analyses[0].ouputs: unknown field"),
        ("dotdot-name.json", Wf(Step).Replace("\"w\"", "\"../evil\"", StringComparison.Ordinal), "dotdot-name.json: workflow_name: '../evil' may hold only"),
        ("hidden-analysis.json", Wf(Analysis("\"name\": \"a\"", "\"name\": \".a\"")), "hidden-analysis.json: analyses[0].name: '.a' may hold only"),
        ("project-mismatch.json", Wf(Step, ", \"project_name\": \"other\""), "project-mismatch.json: project_name: 'other' does not match the project folder 'bad'"),
        ("duplicate-analyses.json", Wf(Step + ", " + Step), "duplicate-analyses.json: analyses: analysis name 'a' is used 2 times"),
        // A 10 s timeout is fine on the Local backend (AWS Batch's minimum of 60 is the AWS backend's check); 0 is no timeout.
        ("zero-timeout.json", Wf(Analysis("\"command\"", "\"timeout_seconds\": 0, \"command\"")), "zero-timeout.json: analyses[0].timeout_seconds: expected a positive number"),
        ("memory-factor.json", Wf(Analysis("\"command\"", "\"retry\": { \"memory_factor\": 0.5 }, \"command\"")), "memory-factor.json: analyses[0].retry.memory_factor: expected a number of at least 1"),
        ("cancel-string.json", Wf(Step, ", \"cancel\": \"yes\""), "cancel-string.json: cancel: expected true or false"),
        ("empty-command.json", Wf(Analysis("[\"true\"]", "[]")), "empty-command.json: analyses[0].command: expected a non-empty list"),
        ("unknown-placeholder.json", Wf(Analysis("out/{sample_name}", "out/{nope}")), "unknown-placeholder.json: analyses[0].outputs[0]: unknown placeholder {nope}"),
        ("shared-output.json", Wf(Analysis("out/{sample_name}", "out/all.txt")), "shared-output.json: analyses[0].outputs: 'file://"),
        ("attempt-output.json", Wf(Analysis("out/{sample_name}", "out/{sample_name}.{attempt}")), "attempt-output.json: analyses[0].outputs[0]: may not use {attempt}"),
        ("bucket-only.json", Wf(Analysis("out/{sample_name}", "s3://bucket")), "bucket-only.json: analyses[0].outputs[0]: 's3://bucket' is not an S3 object URI"),
        ("scheme.json", Wf(Analysis("out/{sample_name}", "gs://b/{sample_name}")), "scheme.json: analyses[0].outputs[0]: 'gs://b/s1' has an unsupported scheme"),
        ("missing-samples.json", Wf(Step, ", \"samples\": \"nope.csv\""), "missing-samples.json: samples: the metadata file 'nope.csv' does not exist"),
        ("escaping-samples.json", Wf(Step, ", \"samples\": \"../good/metadata.csv\""), "escaping-samples.json: samples: '../good/metadata.csv' must be a file name inside the project folder"),
        ("inline-duplicates.json", Wf(Step, ", \"samples\": [ {\"sample_name\": \"x\"}, {\"sample_name\": \"x\"} ]"), "inline-duplicates.json: samples[1].sample_name: duplicate sample 'x'"),
        ("inline-nameless.json", Wf(Step, ", \"samples\": [ {\"file_name\": \"x\"} ]"), "inline-nameless.json: samples[0].sample_name: required"),
    ];

    /// <summary>(project, metadata.csv content, what the error must say); each project holds a valid workflow.</summary>
    public static readonly (string Project, string Csv, string Expected)[] Metadata =
    [
        ("csv-no-sample-column", "name,file_name\nx,x.txt\n", "metadata.csv: header: no 'sample_name' column; the columns are: name, file_name"),
        ("csv-duplicates", "sample_name\nx\ny\nx\n", "metadata.csv: line 4.sample_name: duplicate sample 'x' (first at line 2)"),
        ("csv-empty", "", "metadata.csv: is empty"),
        ("csv-ragged", "sample_name,file_name\nx,x.txt,extra\n", "metadata.csv: line 2: has 3 fields; the header has 2"),
        ("csv-unclosed-quote", "sample_name\n\"x\n", "metadata.csv: line 2: a quoted field is never closed"),
        ("csv-header-only", "sample_name,file_name\n", "metadata.csv: has no samples"),
    ];

    [Fact]
    public async Task EveryBrokenFile_IsReportedByFileAndField_TheGoodWorkflowConverges_AndTheDaemonStaysUp()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path, new Dictionary<string, string?> { ["Batchkeeper:SettleTime"] = "00:00:00.200" });
        Demo.CreateProject(daemon.Projects, "good", ("g1", 2), ("g2", 3));
        var bad = Demo.CreateProject(daemon.Projects, "bad", ("s1", 1), ("s2", 1));
        var good = daemon.WorkflowPath("good", "wordcount.json");

        foreach (var (file, content, _) in Workflows)
        {
            Demo.Drop(Path.Combine(bad, file), content);
        }

        // Binary junk, and a 50 MB file.
        var junk = new byte[4096];
        new Random(7).NextBytes(junk);
        await File.WriteAllBytesAsync(Path.Combine(bad, "junk.json"), junk);
        await using (var big = File.Create(Path.Combine(bad, "huge.json")))
        {
            big.SetLength(50L * 1024 * 1024);
        }

        foreach (var (project, csv, _) in Metadata)
        {
            var folder = Path.Combine(daemon.Projects, project);
            Directory.CreateDirectory(folder);
            await File.WriteAllTextAsync(Path.Combine(folder, "metadata.csv"), csv);
            Demo.Drop(Path.Combine(folder, "w.json"), Wf(Step));
        }

        // A link that leaves the projects root is not a workflow at all.
        var outside = _folder.Combine("outside.json");
        await File.WriteAllTextAsync(outside, Wf(Step));
        File.CreateSymbolicLink(Path.Combine(bad, "escape.json"), outside);

        Demo.Drop(good, Demo.Workflow);

        var cases = Workflows.Select(c => (Path: Path.Combine(bad, c.File), c.Expected))
            .Append((Path.Combine(bad, "junk.json"), "junk.json: is not UTF-8 text"))
            .Append((Path.Combine(bad, "huge.json"), "huge.json: is larger than 16 MiB; larger files are not read"))
            .Concat(Metadata.Select(c => (Path: Path.Combine(daemon.Projects, c.Project, "w.json"), c.Expected)))
            .ToArray();
        Assert.True(cases.Length >= 30, $"the corpus has {cases.Length} files");

        var converged = await TestDaemon.WaitForSnapshotAsync(good, s => s.Summary.Complete == 4, "the good workflow converges beside the broken ones");
        Assert.Empty(converged.Errors);

        var missing = new List<string>();
        foreach (var (path, expected) in cases)
        {
            WorkflowSnapshot? snapshot = null;
            try
            {
                snapshot = await TestDaemon.WaitForSnapshotAsync(path, s => Said(s, expected), $"{Path.GetFileName(path)} reports '{expected}'", TimeSpan.FromSeconds(30));
            }
            catch (TimeoutException)
            {
                snapshot = await TestDaemon.ReadSnapshotAsync(path);
                missing.Add($"{path}: expected '{expected}', got: {string.Join(" | ", snapshot?.Errors.Select(e => e.Message).Concat(snapshot.Slots.Select(s => s.Message ?? "")) ?? ["no snapshot"])}");
            }
        }

        Assert.True(missing.Count == 0, string.Join("\n", missing));
        Assert.False(File.Exists(Path.Combine(bad, "escape.status.json")), "a link leaving the projects root must not be managed");
        Assert.All(Directory.GetFiles(daemon.Projects, "*.status.json", SearchOption.AllDirectories), f => System.Text.Json.JsonDocument.Parse(File.ReadAllText(f)).Dispose());

        // Still up: a new workflow dropped now is picked up and converges.
        var later = daemon.WorkflowPath("good", "later.json");
        Demo.Drop(later, Demo.Workflow.Replace("\"wordcount\"", "\"later\"", StringComparison.Ordinal).Replace("results", "later", StringComparison.Ordinal));
        await TestDaemon.WaitForSnapshotAsync(later, s => s.Summary.Complete == 4, "a workflow dropped afterwards converges");

        var log = LogFiles.Read(daemon.LogDirectory);
        await Eventually.WaitAsync(() => (log = LogFiles.Read(daemon.LogDirectory)).Contains("no-queue.json: analyses[0].queue: required", StringComparison.Ordinal), "the error reaches the log");
    }

    private static bool Said(WorkflowSnapshot snapshot, string expected) =>
        snapshot.Errors.Any(e => e.Message.Contains(expected, StringComparison.Ordinal))
        || snapshot.Slots.Any(s => s.State == SlotState.Invalid && (s.Message ?? "").Contains(expected, StringComparison.Ordinal));
}

using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Cli;

/// <summary>What <c>validate</c>, <c>import</c>, <c>create</c> and <c>cancel</c> say about a new user's input: the real executable on real files.</summary>
public sealed class CliInputTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Projects => _folder.Combine("projects");

    private Task<(int Code, string Out, string Err)> RunAsync(params string[] args) => RunWithAsync(null, null, args);

    private Task<(int Code, string Out, string Err)> RunWithAsync(IDictionary<string, string>? environment, string? stdin, params string[] args) =>
        CliRun.RunAsync(_folder.Path, environment, stdin, ["--projects", Projects, .. args]);

    [Fact]
    public async Task ValidateShow_PrintsWhatIsSubmitted_SaysHowManyItLeftOut_AndOneLinePerRepeatedError()
    {
        var project = Demo.CreateProject(Projects, "study", ("a", 1), ("b", 2));
        var workflow = Path.Combine(project, "wf.json");
        Demo.Drop(workflow, """
            { "workflow_name": "wf", "analyses": [ { "name": "align", "job_definition": "bwa:1", "queue": "local", "timeout_seconds": 600,
              "parameters": { "ref": "hg38" }, "environment": { "THREADS": "4" }, "tags": { "sample": "{sample_name}" },
              "command": ["bwa", "mem", "Ref::ref", "{file_name}", "--rg", "ID:{sample_name} SM:x"], "outputs": ["bam/{sample_name}.bam"] } ] }
            """);

        var (code, output, error) = await RunAsync("validate", workflow);

        Assert.True(code == 0, output + error);
        var lines = CliRun.Lines(output);
        Assert.Contains("  queue local, definition bwa:1, vcpus -, memory -, timeout 600s, attempts 3", lines);
        Assert.Contains("  parameters ref=hg38", lines);
        Assert.Contains("  command bwa mem Ref::ref a.txt --rg 'ID:a SM:x'", lines);
        Assert.Contains("  environment THREADS=4, BATCHKEEPER_OUTPUTS=<the outputs>", lines);
        Assert.Contains("  tags sample=a", lines);
        Assert.DoesNotContain(lines, l => l.Contains("shown", StringComparison.Ordinal)); // both slots fit in the default 5

        (code, output, _) = await RunAsync("validate", workflow, "--show", "1");
        Assert.Equal(0, code);
        Assert.Equal("(1 of 2 valid slots shown; --show N prints N)", CliRun.Lines(output)[^1]);

        // 502 samples with the same typo: one line with the count and the first samples.
        var many = Path.Combine(Projects, "many");
        Directory.CreateDirectory(many);
        await File.WriteAllTextAsync(Path.Combine(many, "metadata.csv"), "sample_name,file_name\n" + string.Concat(Enumerable.Range(1, 502).Select(i => $"s{i},s{i}.fq\n")));
        var typo = Path.Combine(many, "typo.json");
        Demo.Drop(typo, """{ "workflow_name": "typo", "analyses": [ { "job_definition": "d:1", "queue": "q", "command": ["x", "{file_nme}"], "outputs": ["o/{sample_name}"] } ] }""");
        (code, output, error) = await RunAsync("validate", typo);
        Assert.Equal(1, code);
        Assert.Contains("502 slots, 502 invalid", output, StringComparison.Ordinal);
        var problem = Assert.Single(CliRun.Lines(error));
        Assert.StartsWith("502 slots of d (samples s1, s2, s3 and 499 more): typo.json: analyses[0].command[1]: unknown placeholder {file_nme} (did you mean {file_name}?)", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_JsonBracesInACommand_SayHowToWriteLiteralBraces()
    {
        var project = Demo.CreateProject(Projects, "study", ("a", 1));
        var workflow = Path.Combine(project, "json.json");
        Demo.Drop(workflow, """{ "workflow_name": "j", "analyses": [ { "job_definition": "d:1", "queue": "q", "command": ["curl", "-d", "{\"sample\": \"{sample_name}\"}"], "outputs": ["o/{sample_name}"] } ] }""");

        var (code, _, error) = await RunAsync("validate", workflow);

        Assert.Equal(1, code);
        Assert.Contains("json.json: analyses[0].command[2]: '{' at position 1 starts {\"sample\": \"{sample_name}, which is not a placeholder: write '{{' and '}}' for literal braces", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ShortTimeout_IsRefusedOnlyForAws_AndTheLocalBackendKillsTheJobAtIt()
    {
        var workflow = Path.Combine(Projects, "study", "quick.json");
        const string Definition = """
            { "workflow_name": "quick", "analyses": [ { "job_definition": "d:1", "queue": "local", "timeout_seconds": 1, "retry": { "max_attempts": 1 },
              "command": ["sleep", "60"], "outputs": ["out/{sample_name}"] } ] }
            """;
        Demo.CreateProject(Projects, "study", ("a", 1));
        Demo.Drop(workflow, Definition);

        var (code, output, error) = await RunAsync("validate", workflow);
        Assert.True(code == 0, output + error);
        Assert.Contains("timeout 1s", output, StringComparison.Ordinal);
        Assert.Contains("workflow quick: 1 sample × 1 analysis = 1 slot, 0 invalid", output, StringComparison.Ordinal);

        (code, _, error) = await RunWithAsync(new Dictionary<string, string> { ["Batchkeeper__Backend"] = "Aws" }, null, "validate", workflow);
        Assert.Equal(1, code);
        Assert.Contains("quick.json: analyses[0].timeout_seconds: 1 seconds is below AWS Batch's minimum of 60 (the Local backend takes any timeout)", error, StringComparison.Ordinal);

        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        var failed = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Failed == 1, "the job killed at its 1 s timeout");
        Assert.Equal(FailureClass.TimedOut, failed.Slots.Single().FailureClass);
    }

    [Fact]
    public async Task Import_SuggestsSampleCol_AndPrefixesEveryError_CreateSaysNotCreated_DecliningCancelIsExit0()
    {
        var csv = _folder.Combine("samples.csv");
        await File.WriteAllTextAsync(csv, "id,path\nx1,x1.fq\n");
        var (code, _, error) = await RunAsync("import", "study", "--metadata", csv);
        Assert.Equal(2, code);
        Assert.Equal("batchkeeper: samples.csv: header: no 'sample_name' column; the columns are: id, path; name the column of sample names with --sample-col", error.Trim());

        await File.WriteAllTextAsync(csv, "sample_name\nx\nx\n");
        (code, _, error) = await RunAsync("import", "study", "--metadata", csv);
        Assert.Equal(2, code);
        Assert.Equal("batchkeeper: samples.csv: line 3.sample_name: duplicate sample 'x' (first at line 2)", error.Trim());

        await File.WriteAllTextAsync(csv, "sample_name\nx\n");
        (code, _, _) = await RunAsync("import", "study", "--metadata", csv);
        Assert.Equal(0, code);
        var definition = _folder.Combine("definition.json");
        await File.WriteAllTextAsync(definition, """{ "workflow_name": "broken", "analyses": [ { "job_definition": "bwa:3", "queue": "q", "outputs": ["b/{nope}"] } ] }""");
        (code, _, error) = await RunAsync("create", "study", "--definition", definition);
        Assert.Equal(1, code);
        Assert.Equal($"batchkeeper: {definition}: not created (1 of 1 slot invalid); 'batchkeeper validate' shows the same checks", CliRun.Lines(error)[^1]);
        Assert.False(File.Exists(Path.Combine(Projects, "study", "broken.json")));

        var workflow = Path.Combine(Projects, "study", "wordcount.json");
        Demo.Drop(workflow, Demo.Workflow);
        (code, var output, _) = await RunWithAsync(null, "n", "cancel", workflow);
        Assert.Equal(0, code);
        Assert.EndsWith("not cancelled", output.Trim(), StringComparison.Ordinal);
        Assert.Equal(Demo.Workflow, File.ReadAllText(workflow));

        // No one at the prompt (standard input closed): not an answer, a usage error.
        (code, _, error) = await RunWithAsync(null, null, "cancel", workflow);
        Assert.Equal(2, code);
        Assert.Contains("pass --yes", error, StringComparison.Ordinal);
        Assert.Equal(Demo.Workflow, File.ReadAllText(workflow));
    }
}

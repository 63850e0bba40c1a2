using System.Diagnostics;
using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Cli;

/// <summary>The commands as a user runs them: the real executable, real files, stdout, stderr and exit codes.</summary>
public sealed class CliTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Projects => _folder.Combine("projects");

    /// <summary>The real executable in the test's folder, on its projects folder and TestDaemon's work folder (whose job logs <c>logs</c> reads).</summary>
    private Task<(int Code, string Out, string Err)> RunWithInputAsync(string? stdin, params string[] args) =>
        CliRun.RunAsync(_folder.Path, new Dictionary<string, string> { ["Batchkeeper__Local__WorkDirectory"] = _folder.Combine("work") }, stdin, ["--projects", Projects, .. args]);

    private Task<(int Code, string Out, string Err)> RunAsync(params string[] args) => RunWithInputAsync(null, args);

    [Fact]
    public async Task BadConfiguration_StopsACommandWithExit2_AndEveryProblemOnItsOwnLine()
    {
        // The CLI binds and validates the options as the daemon does (AddBatchkeeperOptions): before, it read them with
        // Get<>() around the validator and ran on with a meaningless setting.
        File.WriteAllText(_folder.Combine("appsettings.json"), """{ "Batchkeeper": { "LostJobAfter": "00:00:00", "SubmitParallelism": 0 } }""");

        var (code, _, err) = await RunAsync("dashboard");

        Assert.Equal(2, code);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith("batchkeeper: configuration: Batchkeeper:LostJobAfter: 00:00:00 is not allowed", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("batchkeeper: configuration: Batchkeeper:SubmitParallelism: 0 is not allowed", StringComparison.Ordinal));
        Assert.Equal(2, lines.Length);
    }

    [Fact]
    public async Task Validate_PrintsTheSlots_OrEveryErrorWithFileAndField()
    {
        var project = Demo.CreateProject(Projects, "study", ("a", 1), ("b", 2));
        var good = Path.Combine(project, "wordcount.json");
        Demo.Drop(good, Demo.Workflow);
        var (code, output, err0) = await RunAsync("validate", good, "--show", "1");
        Assert.True(code == 0, output + err0);
        Assert.Contains("workflow wordcount: 2 samples × 2 analyses = 4 slots, 0 invalid", output, StringComparison.Ordinal);
        Assert.Contains("slot a / count: job bk-wordcount-count-a-", output, StringComparison.Ordinal);
        Assert.DoesNotContain("slot a / report", output, StringComparison.Ordinal);

        var bad = Path.Combine(project, "bad.json");
        Demo.Drop(bad, """{ "workflow_name": "bad", "analyses": [ { "job_definition": "d:1", "outputs": ["o/{nope}"] } ] }""");
        (code, _, var error) = await RunAsync("validate", bad);
        Assert.Equal(1, code);
        Assert.Contains("bad.json: analyses[0].queue: required", error, StringComparison.Ordinal);

        var placeholder = Path.Combine(project, "placeholder.json");
        Demo.Drop(placeholder, """{ "workflow_name": "p", "analyses": [ { "job_definition": "d:1", "queue": "q", "outputs": ["o/{nope}"] } ] }""");
        (code, _, error) = await RunAsync("validate", placeholder);
        Assert.Equal(1, code);
        Assert.Contains("2 slots of d (samples a, b): placeholder.json: analyses[0].outputs[0]: unknown placeholder {nope}", error, StringComparison.Ordinal);

        (code, _, error) = await RunAsync("validate", Path.Combine(project, "missing.json"));
        Assert.Equal(2, code);
        Assert.Contains("no such file", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_Dashboard_Logs_FromWhatTheDaemonWrote()
    {
        var workflow = Path.Combine(Projects, "study", "failing.json");
        await using (var daemon = await TestDaemon.StartAsync(_folder.Path))
        {
            Demo.CreateProject(daemon.Projects, "study", ("a", 1));
            Demo.Drop(workflow, """
                { "workflow_name": "failing", "analyses": [
                  { "name": "one", "job_definition": "d:1", "queue": "local", "retry": { "max_attempts": 1 },
                    "command": ["sh", "-c", "echo going wrong; exit 5"], "outputs": ["out/{sample_name}"] } ] }
                """);
            await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Failed == 1, "the slot fails for good");
        }

        var (code, output, _) = await RunAsync("status", workflow);
        Assert.Equal(1, code);
        Assert.Contains("total 1  complete 0", output, StringComparison.Ordinal);
        Assert.Matches(@"failed_permanently +a / one +attempt 1/1 +failed on all 1 attempts; last: Command exited; exit code 5", output);

        (code, output, _) = await RunAsync("status", workflow, "--json");
        Assert.Equal(0, code);
        Assert.Contains("\"schema\": \"batchkeeper.status/1\"", output, StringComparison.Ordinal);

        (code, output, _) = await RunAsync("logs", workflow, "--sample", "a");
        Assert.Equal(0, code);
        Assert.Equal("going wrong", output.Trim());

        (code, _, var error) = await RunAsync("logs", workflow, "--sample", "zz");
        Assert.Equal(2, code);
        Assert.Contains("no slot for sample 'zz'", error, StringComparison.Ordinal);

        // The daemon stopped cleanly, and its heartbeat says so: no guessing from the snapshot's age.
        (code, output, _) = await RunAsync("dashboard");
        Assert.Equal(1, code);
        Assert.StartsWith("daemon stopped at ", output, StringComparison.Ordinal);
        Assert.Matches(@"study/failing.json +0/1 +0 +0 +0 +1 +0 +0 +0 +\d+s$", CliRun.Lines(output)[2]);
        Assert.DoesNotContain("stale", output, StringComparison.Ordinal);

        // Without a heartbeat (a daemon older than it), the old rule: a snapshot whose next pass is long overdue means
        // the daemon is not running; the dashboard says so and exits 1.
        File.Delete(Path.Combine(Projects, "dashboard.json"));
        var snapshot = (await TestDaemon.ReadSnapshotAsync(workflow))!;
        snapshot.ReconciledAt = DateTimeOffset.UtcNow - TimeSpan.FromHours(2);
        snapshot.NextReconcileAt = snapshot.ReconciledAt + TimeSpan.FromSeconds(30);
        await Batchkeeper.Daemon.Snapshots.FileSnapshotStore.SaveAsync(workflow, snapshot, CancellationToken.None);
        (code, output, _) = await RunAsync("dashboard");
        Assert.Equal(1, code);
        Assert.Matches(@"study/failing.json +0/1 +0 +0 +0 +1 +0 +0 +0 +2h  stale: is the daemon running\?", output);

        Demo.Drop(Path.Combine(Projects, "study", "never.json"), Demo.Workflow);
        (code, _, error) = await RunAsync("status", Path.Combine(Projects, "study", "never.json"));
        Assert.Equal(1, code);
        Assert.Contains("no snapshot yet", error, StringComparison.Ordinal);

        // retry checks its arguments against the snapshot before writing a request.
        var requests = Path.Combine(Projects, "study", "failing.retry.json");
        (code, _, error) = await RunAsync("retry", workflow, "--sample", "typo");
        Assert.Equal(2, code);
        Assert.Contains("no sample 'typo' in failing.json", error, StringComparison.Ordinal);
        (code, _, error) = await RunAsync("retry", workflow, "--analysis", "two");
        Assert.Equal(2, code);
        Assert.Contains("no analysis 'two' in failing.json; its analyses are: one", error, StringComparison.Ordinal);
        Assert.False(File.Exists(requests));
        (code, output, _) = await RunAsync("retry", workflow, "--sample", "a");
        Assert.Equal(0, code);
        Assert.Contains("retry requested", output, StringComparison.Ordinal);
        Assert.True(File.Exists(requests));
    }

    [Fact]
    public async Task Retry_WritesARequest_AndCancelAsksThenKeepsTheFileAsItWas()
    {
        var project = Demo.CreateProject(Projects, "study", ("a", 1));
        var workflow = Path.Combine(project, "wordcount.json");
        Demo.Drop(workflow, Demo.Workflow);

        var (code, output, _) = await RunAsync("retry", workflow, "--sample", "a");
        Assert.Equal(0, code);
        Assert.Contains("retry requested", output, StringComparison.Ordinal);
        var request = File.ReadAllText(Path.Combine(project, "wordcount.retry.json"));
        Assert.Contains("\"sample\": \"a\"", request, StringComparison.Ordinal);

        (code, output, _) = await RunWithInputAsync("n", "cancel", workflow);
        Assert.Equal(0, code); // declining is an answer, not a failure
        Assert.Contains("not cancelled", output, StringComparison.Ordinal);
        Assert.Equal(Demo.Workflow, File.ReadAllText(workflow));

        (code, _, _) = await RunAsync("cancel", workflow, "--yes");
        Assert.Equal(0, code);
        var cancelled = File.ReadAllText(workflow);
        Assert.Contains("\"cancel\": true,", cancelled, StringComparison.Ordinal);
        Assert.Contains("# two analyses per sample, as local processes", cancelled, StringComparison.Ordinal);
        Assert.Equal(Demo.Workflow, cancelled.Replace("\n  \"cancel\": true,", "", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Import_And_Create_WithTheirErrors()
    {
        var csv = _folder.Combine("samples.csv");
        await File.WriteAllTextAsync(csv, "id,path,site\nx1,x1.fq,A\nx2,x2.fq,B\n");
        var (code, output, error) = await RunAsync("import", "study", "--metadata", csv, "--sample-col", "id", "--file-col", "path");
        Assert.True(code == 0, error);
        Assert.Contains("project study: 2 samples", output, StringComparison.Ordinal);
        var metadata = File.ReadAllText(Path.Combine(Projects, "study", "metadata.json"));
        Assert.Contains("\"sample_name\": \"x1\"", metadata, StringComparison.Ordinal);
        Assert.Contains("\"file_name\": \"x2.fq\"", metadata, StringComparison.Ordinal);

        (code, _, error) = await RunAsync("import", "study", "--metadata", csv, "--sample-col", "id");
        Assert.Equal(2, code);
        Assert.Contains("metadata.json exists; use --force", error, StringComparison.Ordinal);
        (code, output, _) = await RunAsync("import", "study", "--metadata", csv, "--sample-col", "id", "--file-col", "path", "--force");
        Assert.Equal(0, code);
        Assert.Contains("project study: 2 samples", output, StringComparison.Ordinal);

        await File.WriteAllTextAsync(csv, "name\nx\n");
        (code, _, error) = await RunAsync("import", "other", "--metadata", csv);
        Assert.Equal(2, code);
        Assert.Contains("samples.csv: header: no 'sample_name' column; the columns are: name", error, StringComparison.Ordinal);

        await File.WriteAllTextAsync(csv, "sample_name\nx\nx\n");
        (code, _, error) = await RunAsync("import", "other", "--metadata", csv);
        Assert.Equal(2, code);
        Assert.Contains("duplicate sample 'x'", error, StringComparison.Ordinal);

        await File.WriteAllTextAsync(csv, "");
        (code, _, error) = await RunAsync("import", "other", "--metadata", csv);
        Assert.Equal(2, code);
        Assert.Contains("samples.csv: is empty", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(Projects, "other")));

        var definition = _folder.Combine("definition.json");
        await File.WriteAllTextAsync(definition, """{ "workflow_name": "align", "analyses": [ { "job_definition": "bwa:3", "queue": "q", "command": ["bwa", "{file_name}"], "outputs": ["bam/{sample_name}.bam"] } ] }""");
        (code, output, error) = await RunAsync("create", "study", "--definition", definition);
        Assert.True(code == 0, error);
        Assert.Contains("2 slots", output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(Projects, "study", "align.json")));

        (code, _, error) = await RunAsync("create", "study", "--definition", definition);
        Assert.Equal(2, code);
        Assert.Contains("exists; use --force", error, StringComparison.Ordinal);

        await File.WriteAllTextAsync(definition, """{ "workflow_name": "broken", "analyses": [ { "job_definition": "bwa:3", "queue": "q", "outputs": ["s3://b/{nope}"] } ] }""");
        (code, _, error) = await RunAsync("create", "study", "--definition", definition);
        Assert.Equal(1, code);
        Assert.Contains("unknown placeholder {nope}", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Projects, "study", "broken.json")));
    }

    [Theory]
    [InlineData("run")]
    [InlineData("import")]
    [InlineData("create")]
    [InlineData("validate")]
    [InlineData("status")]
    [InlineData("dashboard")]
    [InlineData("retry")]
    [InlineData("cancel")]
    [InlineData("logs")]
    [InlineData("queue")]
    public async Task Help_OnEveryCommand_DescribesItAndExits0(string command)
    {
        var (code, output, error) = await RunAsync(command, "--help");
        Assert.True(code == 0, error);
        Assert.Contains("Usage:", output, StringComparison.Ordinal);
        Assert.Contains($"batchkeeper {command}", output, StringComparison.Ordinal);
        Assert.Equal("", error);
    }

    [Fact]
    public async Task Version_PrintsTheVersion()
    {
        // --version stands alone (System.CommandLine refuses it beside other options, so no --projects here).
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = _folder.Path, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(DaemonProcess.Dll);
        start.ArgumentList.Add("--version");
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, error);
        Assert.Matches(@"^\d+\.\d+\.\d+", output.Trim());
    }

    [Fact]
    public async Task UsageErrors_ExitWith2_AndPointAtTheCommandsHelp()
    {
        var (code, output, error) = await RunAsync("status");
        Assert.Equal(2, code);
        Assert.Contains("batchkeeper: Required argument missing for command: 'status'", error, StringComparison.Ordinal);
        Assert.Contains("Run 'batchkeeper status --help' for usage.", error, StringComparison.Ordinal);
        Assert.Equal("", output);

        (code, _, error) = await RunAsync("frobnicate");
        Assert.Equal(2, code);
        Assert.Contains("'frobnicate'", error, StringComparison.Ordinal);

        (code, output, _) = await RunAsync("logs", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--follow", output, StringComparison.Ordinal);
    }
}

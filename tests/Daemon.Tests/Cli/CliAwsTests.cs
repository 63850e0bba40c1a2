using System.Diagnostics;
using Batchkeeper.BatchEmulator;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Batchkeeper.Daemon.Aws.Batch.Model;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Cli;

/// <summary>The commands that ask AWS Batch, run as a user would, against the Batch emulator.</summary>
public sealed class CliAwsTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private Task<(int Code, string Out, string Err)> RunAsync(Uri batch, params string[] args) => RunAsync(batch, new Dictionary<string, string>(), args);

    private async Task<(int Code, string Out, string Err)> RunAsync(Uri batch, Dictionary<string, string> environment, string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = _folder.Path, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(DaemonProcess.Dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["Batchkeeper__Aws__BatchServiceUrl"] = batch.ToString();
        start.Environment["Batchkeeper__Aws__Region"] = "us-east-1";
        start.Environment["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE";
        start.Environment["AWS_SECRET_ACCESS_KEY"] = "secret";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    [Fact]
    public async Task ValidateAws_ChecksQueuesAndJobDefinitions_AndQueueCountsJobsPerStatus()
    {
        var options = new BatchEmulatorOptions { Strict = true, RunDuration = TimeSpan.FromMinutes(5) };
        options.JobQueues.Add(new JobQueueOptions { Name = "spot" });
        options.JobDefinitions.Add(new JobDefinitionOptions { Name = "align", Revision = 3 });
        await using var emulator = await Emulator.StartAsync(options);

        var project = Demo.CreateProject(_folder.Combine("projects"), "study", ("a", 1));
        var good = Path.Combine(project, "good.json");
        Demo.Drop(good, """{ "workflow_name": "good", "analyses": [ { "job_definition": "align:3", "queue": "spot", "outputs": ["s3://b/{sample_name}"] } ] }""");
        var (code, output, error) = await RunAsync(emulator.BaseAddress, "validate", good, "--aws");
        Assert.True(code == 0, output + error);
        Assert.Contains("queue spot: ENABLED", output, StringComparison.Ordinal);
        Assert.Contains("job definition align:3: found", output, StringComparison.Ordinal);

        var bad = Path.Combine(project, "bad.json");
        Demo.Drop(bad, """{ "workflow_name": "bad", "analyses": [ { "job_definition": "align:9", "queue": "nope", "outputs": ["s3://b/{sample_name}"] } ] }""");
        (code, _, error) = await RunAsync(emulator.BaseAddress, "validate", bad, "--aws");
        Assert.Equal(1, code);
        Assert.Contains("queue nope: not found on AWS Batch (us-east-1)", error, StringComparison.Ordinal);
        Assert.Contains("job definition align:9: not found", error, StringComparison.Ordinal);

        // Three jobs, two of them running by the time they are counted.
        using var client = Batchkeeper.Daemon.Tests.Aws.Fakes.TestClients.Batch(emulator.BaseAddress);
        foreach (var name in new[] { "j1", "j2", "j3" })
        {
            await client.SubmitJobAsync(new SubmitJobRequest { JobName = name, JobQueue = "spot", JobDefinition = "align:3" });
        }

        await emulator.WaitUntilAsync(jobs => jobs.All(j => j.Status == "RUNNING"), TimeSpan.FromSeconds(30));
        (code, output, error) = await RunAsync(emulator.BaseAddress, "queue", "spot");
        Assert.True(code == 0, error);
        Assert.Matches(@"RUNNING +3", output);
        Assert.Matches(@"SUCCEEDED +0", output);
    }

    [Theory]
    [InlineData("MaxAttempts", "0", "Batchkeeper:Aws:MaxAttempts must be at least 1 (it is 0)")]
    [InlineData("AttemptTimeout", "soon", "Batchkeeper:Aws:AttemptTimeout: 'soon' is not allowed: expected a time span")]
    public async Task AwsCommands_WithABadAwsSetting_SayWhichInOneLine_AndExit2(string setting, string value, string expected)
    {
        // The same validated binding as the daemon's: a setting the daemon would refuse at start-up is refused here too.
        await using var emulator = await Emulator.StartAsync();

        var (code, _, error) = await RunAsync(emulator.BaseAddress, new Dictionary<string, string> { [$"Batchkeeper__Aws__{setting}"] = value }, ["queue", "spot"]);

        Assert.Equal(2, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("batchkeeper: queue spot: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.Empty(emulator.Requests);
    }
}

using System.Text.Json;
using Amazon.Runtime;
using Batchkeeper.BatchEmulator;
using Batchkeeper.Daemon.Tests.Aws;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Reliability;

/// <summary>Batch misbehaving under the real daemon: the daemon stays up, says what is wrong, and converges afterwards.</summary>
public sealed class AwsFaultTests(S3rverFixture s3) : IClassFixture<S3rverFixture>, IDisposable
{
    private readonly TempFolder _folder = new();

    // The s3rver is shared by the class: every test writes under its own prefix.
    private readonly string _prefix = Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => _folder.Dispose();

    private string Workflow => Template.Replace("faults/", _prefix + "/", StringComparison.Ordinal);

    private const string Template = """
        {
          "workflow_name": "faulty",
          "analyses": [
            { "name": "one", "job_definition": "d:1", "queue": "q", "command": ["x"], "outputs": ["s3://results/faults/{sample_name}.1"] },
            { "name": "two", "job_definition": "d:1", "queue": "q", "command": ["y"], "outputs": ["s3://results/faults/{sample_name}.2"] }
          ]
        }
        """;

    private Task<TestDaemon> StartDaemonAsync(Uri batch, string attemptTimeout = "00:00:01") =>
        TestDaemon.StartAsync(_folder.Path, new Dictionary<string, string?>
        {
            ["Batchkeeper:Backend"] = "Aws",
            ["Batchkeeper:ReconcileInterval"] = "00:00:01",
            ["Batchkeeper:Aws:Region"] = "us-east-1",
            ["Batchkeeper:Aws:BatchServiceUrl"] = batch.ToString(),
            ["Batchkeeper:Aws:S3ServiceUrl"] = s3.Server.ServiceUrl,
            ["Batchkeeper:Aws:S3ForcePathStyle"] = "true",
            ["Batchkeeper:Aws:AttemptTimeout"] = attemptTimeout,
            ["Batchkeeper:Aws:MaxAttempts"] = "3",
            ["Batchkeeper:Aws:RetryBaseDelay"] = "00:00:00.050",
            ["Batchkeeper:Aws:RetryMaxDelay"] = "00:00:00.300",
        }, services => services.AddSingleton<AWSCredentials>(new BasicAWSCredentials(S3rver.AccessKey, S3rver.SecretKey)));

    private static void AssertOneJobPerName(Emulator emulator)
    {
        var names = emulator.RequestsFor(BatchOperations.SubmitJob).Where(r => r.StatusCode == 200)
            .Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("jobName").GetString()).ToArray();
        Assert.Equal(names.Length, names.Distinct().Count());
        Assert.Equal(names.Length, emulator.Jobs.Count);
    }

    [Fact]
    public async Task HalfThrottled_WithServerErrorsAndStallsBeyondTheTimeout_StillConvergesWithoutDuplicates()
    {
        var faults = new FaultSettings { ThrottleRate = 0.5, ServerErrorRate = 0.1, StallRate = 0.05, StallDuration = TimeSpan.FromSeconds(5), Seed = 8 };
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions { S3ServiceUrl = new Uri(s3.Server.ServiceUrl), Faults = faults });
        await using var daemon = await StartDaemonAsync(emulator.BaseAddress);
        Demo.CreateProject(daemon.Projects, "study", ("s1", 1), ("s2", 1), ("s3", 1), ("s4", 1));
        var workflow = daemon.WorkflowPath("study", "faulty.json");
        Demo.Drop(workflow, Workflow);

        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 8, "convergence through the faults", TimeSpan.FromMinutes(2));
        Assert.Contains(emulator.Requests, r => r.StatusCode == 429);
        Assert.Contains(emulator.Requests, r => r.StatusCode >= 500);
        AssertOneJobPerName(emulator);
    }

    [Fact]
    public async Task BatchDown_IsReportedInTheSnapshotAndLog_ThenTheWorkflowConvergesWhenItIsBack()
    {
        var first = await Emulator.StartAsync();
        var address = first.BaseAddress;
        await first.DisposeAsync();

        await using var daemon = await StartDaemonAsync(address);
        Demo.CreateProject(daemon.Projects, "study", ("s1", 1), ("s2", 1));
        var workflow = daemon.WorkflowPath("study", "faulty.json");
        Demo.Drop(workflow, Workflow);

        var down = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Errors.Count > 0, "the outage in the snapshot");
        Assert.Contains(down.Errors, e => e.Message.Contains("submitting bk-faulty-", StringComparison.Ordinal) || e.Message.Contains("reconcile failed", StringComparison.Ordinal));
        await Eventually.WaitAsync(() => LogFiles.Read(daemon.LogDirectory).Contains("failed", StringComparison.Ordinal), "the outage in the log");

        await using var back = await Emulator.StartAsync(new BatchEmulatorOptions { Port = address.Port, S3ServiceUrl = new Uri(s3.Server.ServiceUrl) });
        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 4 && s.Errors.Count == 0, "convergence once Batch is back", TimeSpan.FromMinutes(2));
        Assert.All(done.Slots, slot => Assert.Single(slot.History));
        AssertOneJobPerName(back);
    }
}

using System.Globalization;
using Batchkeeper.BatchEmulator;
using Batchkeeper.Daemon.Tests.Aws;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Xunit.Abstractions;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Reliability;

/// <summary>
/// S3 and Batch going away and coming back on the same address, behind a TCP relay (connections refused, open ones
/// cut), while their state lives on as it would on AWS. The daemon keeps running, says what is wrong in the snapshot's
/// errors and the log, marks nothing failed because it could not look, and converges once each is back.
/// </summary>
/// <remarks>
/// Each outage lasts <c>BATCHKEEPER_OUTAGE_SECONDS</c> (3 in the suite). The one-minute soak of docs/reliability.md is
/// <c>BATCHKEEPER_OUTAGE_SECONDS=60 dotnet test tests/Daemon.Tests --filter FullyQualifiedName~Reliability.OutageTests</c>.
/// </remarks>
public sealed class OutageTests(S3rverFixture s3, ITestOutputHelper output) : IClassFixture<S3rverFixture>, IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static TimeSpan Outage =>
        TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("BATCHKEEPER_OUTAGE_SECONDS"), CultureInfo.InvariantCulture, out var seconds) ? seconds : 3);

    [Fact]
    public async Task S3ThenBatchGoAway_TheDaemonSaysSo_FailsNothingForIt_AndConvergesWhenEachIsBack()
    {
        // The emulator's jobs write their outputs to s3rver directly: only the daemon's view of S3 goes away.
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions { S3ServiceUrl = new Uri(s3.Server.ServiceUrl), RunDuration = TimeSpan.FromMilliseconds(300) });
        await using var batch = new TcpOutage(emulator.BaseAddress);
        await using var storage = new TcpOutage(new Uri(s3.Server.ServiceUrl));
        await using var daemon = await TestDaemon.StartOnAwsAsync(_folder.Path, batch.Address, storage.Address.ToString(), new Dictionary<string, string?>
        {
            ["Batchkeeper:Aws:AttemptTimeout"] = "00:00:01",
            ["Batchkeeper:Aws:MaxAttempts"] = "3",
            ["Batchkeeper:OutputGracePeriod"] = "00:00:01", // short: a daemon that took "cannot look" for "missing" would fail slots
        });
        var project = Demo.CreateProject(daemon.Projects, "study", ("s1", 1), ("s2", 2));
        var workflow = daemon.WorkflowPath("study", "outage.json");
        var prefix = Guid.NewGuid().ToString("N")[..8];
        Demo.Drop(workflow, $$"""
            { "workflow_name": "outage", "analyses": [
              { "name": "one", "job_definition": "d:1", "queue": "q", "command": ["one"], "outputs": ["s3://results/{{prefix}}/{sample_name}.1"] },
              { "name": "two", "job_definition": "d:1", "queue": "q", "command": ["two"], "outputs": ["s3://results/{{prefix}}/{sample_name}.2"] } ] }
            """);
        await emulator.WaitUntilAsync(jobs => jobs.Count >= 2, TimeSpan.FromSeconds(30));

        // S3 goes away while the first jobs run and finish.
        await storage.DownAsync();
        var s3Down = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Errors.Count > 0, "the S3 outage in the snapshot");
        var message = string.Join(" | ", s3Down.Errors.Select(e => e.Message));
        output.WriteLine($"S3 down: {message}");
        Assert.Contains("S3 could not be asked whether outputs exist", message, StringComparison.Ordinal);
        Assert.Contains($"s3://results", message, StringComparison.Ordinal);
        Assert.Contains(storage.Address.Port.ToString(CultureInfo.InvariantCulture), message, StringComparison.Ordinal);
        await Eventually.WaitAsync(() => LogFiles.Read(daemon.LogDirectory).Contains("S3 could not be asked whether outputs exist", StringComparison.Ordinal), "the S3 outage in the log");
        await emulator.WaitUntilAsync(jobs => jobs.Count(j => j.Status == "SUCCEEDED") >= 2, TimeSpan.FromSeconds(30));
        await Task.Delay(Outage); // the outage's length, not a wait for a condition
        storage.Up();
        var afterS3 = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 4 && s.Errors.Count == 0, "convergence once S3 is back", TimeSpan.FromMinutes(2));
        Assert.All(afterS3.Slots, slot => Assert.Single(slot.History));

        // Batch goes away with a new sample waiting to be submitted.
        await batch.DownAsync();
        Demo.AddSample(project, "s3", 3);
        var batchDown = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Errors.Count > 0, "the Batch outage in the snapshot");
        message = string.Join(" | ", batchDown.Errors.Select(e => e.Message));
        output.WriteLine($"Batch down: {message}");
        Assert.Contains("AWS batch POST /v1/", message, StringComparison.Ordinal);
        Assert.Contains(batch.Address.Port.ToString(CultureInfo.InvariantCulture), message, StringComparison.Ordinal);
        await Eventually.WaitAsync(() => LogFiles.Read(daemon.LogDirectory).Contains("AWS batch POST /v1/", StringComparison.Ordinal), "the Batch outage in the log");
        await Task.Delay(Outage);
        batch.Up();
        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 6 && s.Errors.Count == 0, "convergence once Batch is back", TimeSpan.FromMinutes(2));

        // Nothing was failed or submitted twice because a service could not be reached.
        Assert.All(done.Slots, slot => Assert.Single(slot.History));
        Assert.Equal(6, emulator.Jobs.Count);
        Assert.Equal(6, emulator.Jobs.Select(j => j.JobName).Distinct().Count());
        output.WriteLine($"outages of {Outage.TotalSeconds:0} s each; {emulator.Requests.Count} Batch requests in all");
    }
}

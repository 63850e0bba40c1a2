using Batchkeeper.BatchEmulator;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Aws;

/// <summary>The AWS clients' retry lines in the real daemon's log file, against the emulator.</summary>
public sealed class AwsRetryLoggingTests(S3rverFixture s3) : IClassFixture<S3rverFixture>, IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task RetryLines_OfThrottledRequests_CarryTheWorkflowOfThePassThatSentThem()
    {
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions { S3ServiceUrl = new Uri(s3.Server.ServiceUrl) });
        // Whatever the pass asks first (ListJobs for adoption, SubmitJob) is throttled twice, then answered.
        emulator.Faults.ThrottleNext(2);
        await using var daemon = await TestDaemon.StartOnAwsAsync(_folder.Path, emulator.BaseAddress, s3.Server.ServiceUrl);
        Demo.CreateProject(daemon.Projects, "study", ("s1", 1));
        var workflow = daemon.WorkflowPath("study", "scoped.json");
        Demo.Drop(workflow, $$"""
            { "workflow_name": "scoped", "analyses": [ { "name": "one", "job_definition": "d:1", "queue": "q", "command": ["x"],
              "outputs": ["s3://results/scoped-{{Guid.NewGuid():N}}/{sample_name}"] } ] }
            """);

        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Slots.Count == 1 && s.Slots[0].JobId is not null, "the job submitted through the throttling");
        var retries = await Eventually.WaitAsync(
            () => Task.FromResult<string[]?>(RetryLines(daemon)), lines => lines?.Length == 2, "the two retry lines", describe: l => string.Join('\n', l ?? []));

        Assert.Equal(0, emulator.Faults.PendingThrottles);
        Assert.All(retries, line => Assert.Contains("(HTTP 429 TooManyRequestsException); retrying in", line, StringComparison.Ordinal));
        // The pass's scope (and the slot's, around a submission) names the workflow at the end of the line.
        Assert.All(retries, line => Assert.Matches(@" \[study/scoped\.json( [^\]]*)?\]$", line));
    }

    private static string[] RetryLines(TestDaemon daemon) =>
        LogFiles.Read(daemon.LogDirectory).Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Contains("AWS batch request", StringComparison.Ordinal)).ToArray();
}

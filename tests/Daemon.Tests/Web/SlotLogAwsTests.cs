using Batchkeeper.BatchEmulator;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Tests.Aws;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Batchkeeper.Daemon.Web;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Web;

/// <summary>A slot's log on the AWS backend: the end of its CloudWatch Logs stream, read by the daemon's own client from the Batch emulator (which serves GetLogEvents).</summary>
public sealed class SlotLogAwsTests(S3rverFixture s3) : IClassFixture<S3rverFixture>, IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Log_OnAws_IsTheEndOfTheCloudWatchStream_ReadBackwardsPageByPage_AndCappedAt64KiB()
    {
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions
        {
            S3ServiceUrl = new Uri(s3.Server.ServiceUrl),
            RunDuration = TimeSpan.FromMinutes(5),
            LogEventsPageSize = 50, // the long read below takes several pages
        });
        await using var daemon = await TestDaemon.StartOnAwsAsync(_folder.Path, emulator.BaseAddress, s3.Server.ServiceUrl,
            new Dictionary<string, string?> { ["Batchkeeper:Aws:LogsServiceUrl"] = emulator.BaseAddress.ToString() });
        using var http = await WorkflowApiTests.ClientOf(daemon);
        var project = Demo.CreateProject(daemon.Projects, "study", ("s1", 1));
        var workflow = Path.Combine(project, "align.json");
        Demo.Drop(workflow, $$"""
            { "workflow_name": "align", "analyses": [ { "name": "bwa", "job_definition": "bwa:1", "queue": "q", "command": ["bwa", "mem", "{sample_name}"],
              "outputs": ["s3://results/page-logs-{{Guid.NewGuid():N}}/{sample_name}.bam"] } ] }
            """);
        var snapshot = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Slots.Single() is { State: SlotState.Running, LogStream: not null }, "the job running with a log stream");
        var stream = snapshot.Slots.Single().LogStream!;
        const string path = "/api/workflows/study/align/log?sample=s1&analysis=bwa";

        for (var i = 1; i <= 3; i++)
        {
            emulator.Logs.Append(stream, $"read {i}", DateTimeOffset.UtcNow);
        }

        var whole = await WorkflowApiTests.GetJsonAsync(http, path);
        Assert.Equal(("cloudwatch", stream, "/aws/batch/job", false), ((string?)whole["source"], (string?)whole["stream"], (string?)whole["log_group"], (bool)whole["truncated"]!));
        var lines = ((string)whole["text"]!).Split('\n');
        Assert.StartsWith("bk-align-bwa-s1-", lines[0], StringComparison.Ordinal);
        Assert.Equal(["read 1", "read 2", "read 3", ""], lines[1..]);

        // 100 lines of 1,000 characters: only the newest 65 fit in 64 KiB, whole lines, in order.
        for (var i = 1; i <= 100; i++)
        {
            emulator.Logs.Append(stream, $"{i:000} " + new string('x', 996), DateTimeOffset.UtcNow);
        }

        emulator.ClearRequests();
        var tail = await WorkflowApiTests.GetJsonAsync(http, path);
        Assert.True((bool)tail["truncated"]!);
        var kept = ((string)tail["text"]!).TrimEnd('\n').Split('\n');
        Assert.Equal(Enumerable.Range(36, 65).Select(i => $"{i:000} " + new string('x', 996)), kept);
        Assert.Equal(2, emulator.Requests.Count(r => r.Operation == "GetLogEvents")); // from the end, backwards: not the whole stream
        Assert.True(emulator.Requests.Where(r => r.Operation == "GetLogEvents").All(r => r.IsSigned));
        Assert.True(SlotLogEndpoint.MaxBytes >= System.Text.Encoding.UTF8.GetByteCount((string)tail["text"]!));
    }
}

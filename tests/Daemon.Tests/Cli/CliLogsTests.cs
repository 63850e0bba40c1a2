using Batchkeeper.BatchEmulator;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Tests.Aws;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Cli;

/// <summary>
/// <c>logs</c> on AWS, <c>logs --follow</c>, <c>status --watch</c> and the AWS commands' configuration errors, run as a
/// user would: the real executable beside a real daemon, against the Batch emulator (which also serves CloudWatch
/// Logs' GetLogEvents) and s3rver.
/// </summary>
public sealed class CliLogsTests(S3rverFixture s3) : IClassFixture<S3rverFixture>, IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static Dictionary<string, string> CliEnvironment(Emulator emulator) => new()
    {
        ["Batchkeeper__Aws__Region"] = "us-east-1",
        ["Batchkeeper__Aws__BatchServiceUrl"] = emulator.BaseAddress.ToString(),
        ["Batchkeeper__Aws__LogsServiceUrl"] = emulator.BaseAddress.ToString(),
        ["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE",
        ["AWS_SECRET_ACCESS_KEY"] = "cli-secret-never-printed",
    };

    private async Task<(Emulator Emulator, TestDaemon Daemon, string Workflow)> StartRunningJobAsync(TimeSpan runDuration)
    {
        var emulator = await Emulator.StartAsync(new BatchEmulatorOptions
        {
            S3ServiceUrl = new Uri(s3.Server.ServiceUrl),
            RunDuration = runDuration,
            LogEventsPageSize = 2, // every read of a stream takes several pages
        });
        var daemon = await TestDaemon.StartOnAwsAsync(_folder.Path, emulator.BaseAddress, s3.Server.ServiceUrl);
        var project = Demo.CreateProject(daemon.Projects, "study", ("s1", 1));
        var workflow = Path.Combine(project, "align.json");
        Demo.Drop(workflow, $$"""
            { "workflow_name": "align", "analyses": [ { "name": "bwa", "job_definition": "bwa:1", "queue": "q", "command": ["bwa", "mem", "{sample_name}"],
              "outputs": ["s3://results/logs-{{Guid.NewGuid():N}}/{sample_name}.bam"] } ] }
            """);
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Slots.Single().State == SlotState.Running && s.Slots.Single().LogStream is not null, "the job running with a log stream");
        return (emulator, daemon, workflow);
    }

    [Fact]
    public async Task Logs_OnAws_PagesTheCloudWatchStream_FollowsItWhileTheJobRuns_AndExitsWhenItEnds()
    {
        var (emulator, daemon, workflow) = await StartRunningJobAsync(TimeSpan.FromSeconds(6));
        await using var _ = emulator;
        await using var __ = daemon;
        var stream = (await TestDaemon.ReadSnapshotAsync(workflow))!.Slots.Single().LogStream!;
        for (var i = 1; i <= 5; i++)
        {
            emulator.Logs.Append(stream, $"read {i}", DateTimeOffset.UtcNow);
        }

        await using (var follow = DaemonProcess.Start(_folder.Path, CliEnvironment(emulator), "logs", workflow, "--sample", "s1", "--follow", "--interval", "0.2"))
        {
            await Eventually.WaitAsync(() => follow.Stdout.Contains("read 5"), "the lines written so far");
            Assert.False(follow.HasExited, string.Join('\n', follow.Stderr));
            emulator.Logs.Append(stream, "written while following", DateTimeOffset.UtcNow);
            await Eventually.WaitAsync(() => follow.Stdout.Contains("written while following"), "a line written while following");

            // The job ends by itself; the command reads its last lines and stops.
            Assert.Equal(0, await follow.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            var lines = follow.Stdout;
            Assert.StartsWith("bk-align-bwa-s1-", lines[0], StringComparison.Ordinal);
            Assert.EndsWith("attempt 1: bwa mem s1", lines[0], StringComparison.Ordinal);
            Assert.Equal(["read 1", "read 2", "read 3", "read 4", "read 5", "written while following", "exit code 0"], lines.Skip(1));
        }

        // Without --follow: the whole stream, every page (pages of two here), and the requests are signed JSON 1.1.
        emulator.ClearRequests();
        await using (var once = DaemonProcess.Start(_folder.Path, CliEnvironment(emulator), "logs", workflow, "--sample", "s1"))
        {
            Assert.Equal(0, await once.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Equal(8, once.Stdout.Count);
            Assert.Equal("exit code 0", once.Stdout[^1]);
        }

        var requests = emulator.RequestsFor(LogsOperations.GetLogEvents);
        Assert.Equal(5, requests.Count); // 8 events in pages of 2, then the page that hands back its token
        Assert.All(requests, r => Assert.True(r.IsSigned && r.ContentType == "application/x-amz-json-1.1" && r.StatusCode == 200, $"{r.ContentType} {r.StatusCode}"));

        // Another log group (a job definition with its own awslogs-group): the stream is not there, and the message says where it looked.
        await using var elsewhere = DaemonProcess.Start(_folder.Path, CliEnvironment(emulator), "logs", workflow, "--sample", "s1", "--log-group", "/custom/group");
        Assert.Equal(1, await elsewhere.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var error = string.Join('\n', elsewhere.Stderr);
        Assert.Contains($"log stream {stream} in log group /custom/group", error, StringComparison.Ordinal);
        Assert.Contains("--log-group", error, StringComparison.Ordinal);
        Assert.DoesNotContain("cli-secret-never-printed", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatusWatch_RefreshesAsTheSnapshotChanges_AndExitsCleanlyOnSigterm()
    {
        var (emulator, daemon, workflow) = await StartRunningJobAsync(TimeSpan.FromSeconds(3));
        await using var _ = emulator;
        await using var __ = daemon;

        await using var watch = DaemonProcess.Start(_folder.Path, new Dictionary<string, string>(), "status", workflow, "--watch", "--interval", "0.2");
        await Eventually.WaitAsync(() => watch.Stdout.Any(l => l.Contains("running", StringComparison.Ordinal)), "a refresh showing the running job");
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 1, "the job completes");
        await Eventually.WaitAsync(() => watch.Stdout.SkipWhile(l => !l.Contains("running", StringComparison.Ordinal)).Any(l => l.Contains("complete", StringComparison.Ordinal)),
            "a later refresh showing it complete");
        Assert.True(watch.Stdout.Count(l => l.StartsWith("--- ", StringComparison.Ordinal)) >= 2);

        watch.Terminate();
        Assert.Equal(0, await watch.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task AwsCommands_WithoutCredentialsOrRegion_SayWhatIsMissing_AndExit2()
    {
        await using var emulator = await Emulator.StartAsync();
        var isolated = new Dictionary<string, string>
        {
            ["Batchkeeper__Aws__BatchServiceUrl"] = emulator.BaseAddress.ToString(),
            ["HOME"] = _folder.Path, // no ~/.aws
            ["AWS_SHARED_CREDENTIALS_FILE"] = _folder.Combine("none", "credentials"),
            ["AWS_CONFIG_FILE"] = _folder.Combine("none", "config"),
            ["AWS_EC2_METADATA_DISABLED"] = "true",
            ["AWS_ACCESS_KEY_ID"] = "",
            ["AWS_SECRET_ACCESS_KEY"] = "",
            ["AWS_SESSION_TOKEN"] = "",
            ["AWS_REGION"] = "",
            ["AWS_DEFAULT_REGION"] = "",
        };

        await using (var noRegion = DaemonProcess.Start(_folder.Path, isolated, "queue", "q"))
        {
            Assert.Equal(2, await noRegion.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            var error = string.Join('\n', noRegion.Stderr);
            Assert.Contains("queue q:", error, StringComparison.Ordinal);
            Assert.Contains("AWS_REGION", error, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", error, StringComparison.Ordinal); // a message, not a stack trace
        }

        isolated["Batchkeeper__Aws__Region"] = "us-east-1";
        await using (var noCredentials = DaemonProcess.Start(_folder.Path, isolated, "queue", "q"))
        {
            Assert.Equal(2, await noCredentials.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            var error = string.Join('\n', noCredentials.Stderr);
            Assert.Contains("AWS credentials", error, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        }

        Assert.Empty(emulator.Requests); // nothing unsigned went out
    }
}

using Batchkeeper.BatchEmulator;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Tests.Aws;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Notifications;

/// <summary>
/// Delivery at scale and across a crash: 1,000 failures in one pass against the Batch emulator and s3rver, SIGKILL of
/// the real executable with messages waiting in the outbox, and <c>batchkeeper notify test</c>.
/// </summary>
public sealed class NotificationsDeliveryTests(S3rverFixture s3) : IClassFixture<S3rverFixture>, IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly string _prefix = Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task ThousandSlotsFailingTogether_AreAHandfulOfDigests_AtMostOneASecond_WithEveryEventOnce()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions
        {
            S3ServiceUrl = new Uri(s3.Server.ServiceUrl),
            Faults = new FaultSettings { JobFailureRate = 1, JobFailureExitCode = 1 },
        });
        await using var daemon = await TestDaemon.StartOnAwsAsync(_folder.Path, emulator.BaseAddress, s3.Server.ServiceUrl, new Dictionary<string, string?>
        {
            ["Batchkeeper:Aws:MaxRequestsPerSecond"] = "1000",
            ["Batchkeeper:Notifications:Directory"] = _folder.Combine("notify"),
            ["Batchkeeper:Notifications:Webhooks:0:Url"] = receiver.Url("slack"),
            ["Batchkeeper:Notifications:Webhooks:0:Format"] = "slack",
            ["Batchkeeper:Notifications:Webhooks:1:Url"] = receiver.Url("json"),
            ["Batchkeeper:Notifications:Webhooks:1:Format"] = "json",
        });
        Demo.CreateProject(daemon.Projects, "big", [.. Enumerable.Range(0, 1000).Select(i => ($"s{i:D4}", 1))]);
        var workflow = daemon.WorkflowPath("big", "failing.json");
        Demo.Drop(workflow, $$"""
            {
              "workflow_name": "failing",
              "analyses": [
                { "name": "align", "job_definition": "align:1", "queue": "q", "command": ["align", "{sample_name}"],
                  "retry": { "max_attempts": 1 }, "outputs": ["s3://results/{{_prefix}}/{sample_name}.bam"] }
              ]
            }
            """);

        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Failed == 1000, "all 1,000 slots fail for good", TimeSpan.FromMinutes(2));
        await Eventually.WaitAsync(() => receiver.EventsTo("json").Count >= 1000, "every failure reaches the json webhook", TimeSpan.FromMinutes(1));
        var from = await TestDaemon.WaitForLastPassAtAsync(workflow);
        await TestDaemon.WaitForPassAsync(workflow, from + TimeSpan.FromSeconds(2.5), "three more passes");

        var ids = receiver.EventsTo("json").Select(e => e.GetProperty("id").GetString()).ToArray();
        Assert.Equal(1000, ids.Length);
        Assert.Equal(1000, ids.Distinct().Count());
        foreach (var hook in new[] { "json", "slack" })
        {
            var posts = receiver.PostsTo(hook);
            Assert.InRange(posts.Count, 1, 10);
            Assert.All(posts.Zip(posts.Skip(1)), pair => Assert.True(pair.Second.At - pair.First.At >= TimeSpan.FromSeconds(0.9), $"{hook}: {pair.Second.At - pair.First.At} between posts"));
        }

        // Slack: ten listed per message, then "and N more". 1,000 events in at most ten posts put
        // more than ten in one of them (the first post may hold only the first few failures).
        var blocks = receiver.PostsTo("slack").Select(p => p.Json.GetProperty("blocks")).MaxBy(b => b.GetArrayLength());
        Assert.True(blocks.GetArrayLength() <= 11, $"{blocks.GetArrayLength()} blocks");
        Assert.Contains("more", blocks[blocks.GetArrayLength() - 1].GetProperty("elements")[0].GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SigkillWithMessagesInTheOutbox_AndARestart_TellEachThingOnce_AndLoseNothing()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var projects = _folder.Combine("projects");
        var environment = new Dictionary<string, string>
        {
            ["Batchkeeper__ProjectsDirectory"] = projects,
            ["Batchkeeper__LogDirectory"] = _folder.Combine("logs"),
            ["Batchkeeper__Local__WorkDirectory"] = _folder.Combine("work"),
            ["Batchkeeper__ReconcileInterval"] = "00:00:01",
            ["Batchkeeper__RescanInterval"] = "00:00:01",
            ["Batchkeeper__Notifications__Directory"] = _folder.Combine("notify"),
            ["Batchkeeper__Notifications__RetryBackoff"] = "00:00:00.500",
            ["Batchkeeper__Notifications__MaxRetryBackoff"] = "00:00:01",
            ["Batchkeeper__Notifications__Webhooks__0__Url"] = receiver.Url("json"),
            ["Batchkeeper__Notifications__Webhooks__0__Format"] = "json",
        };
        Demo.CreateProject(projects, "first", ("a1", 1));
        Demo.Drop(Path.Combine(projects, "first", "failing.json"), Demo.Failing);
        var outbox = _folder.Combine("notify", "outbox");

        await using (var daemon = DaemonProcess.Start(_folder.Path, environment, "run"))
        {
            // Told and delivered before the crash.
            await Eventually.WaitAsync(() => receiver.EventsTo("json").Count == 1, "the first failure is delivered");

            // Then the receiver goes down, a second failure waits in the outbox, and the daemon is killed.
            await receiver.DownAsync();
            Demo.CreateProject(projects, "second", ("b1", 1));
            Demo.Drop(Path.Combine(projects, "second", "failing.json"), Demo.Failing);
            await TestDaemon.WaitForSnapshotAsync(Path.Combine(projects, "second", "failing.json"), s => s.Summary.Failed == 1, "the second slot fails for good");
            await Eventually.WaitAsync(() => Directory.GetFiles(outbox, "*.json").Length > 0, "the second failure waits in the outbox");
            Signals.Kill(daemon.Id);
            await daemon.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }

        await receiver.UpAsync();
        await using (var restarted = DaemonProcess.Start(_folder.Path, environment, "run"))
        {
            await Eventually.WaitAsync(() => receiver.EventsTo("json").Count >= 2, "the waiting message is delivered after the restart");
            var second = Path.Combine(projects, "second", "failing.json");
            await TestDaemon.WaitForPassAsync(second, DateTimeOffset.UtcNow + TimeSpan.FromSeconds(2.5), "three more passes after the restart");
            restarted.Terminate();
            await restarted.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }

        var told = receiver.EventsTo("json").Select(e => (Type: e.GetProperty("type").GetString(), Sample: e.TryGetProperty("sample", out var s) ? s.GetString() : null, Id: e.GetProperty("id").GetString())).ToArray();
        Assert.Equal(["a1", "b1"], told.Where(t => t.Type == "slot_failed").Select(t => t.Sample).Order());
        Assert.Equal(told.Length, told.Select(t => t.Id).Distinct().Count());
        Assert.Empty(Directory.GetFiles(outbox, "*.json"));
    }

    [Fact]
    public async Task NotifyTest_SendsOneMessageToEachWebhook_AndSaysWhatEachAnswered()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = post => post.Path.Contains("/gone/", StringComparison.Ordinal) ? (404, null) : (200, null);
        var environment = new Dictionary<string, string>
        {
            ["Batchkeeper__ProjectsDirectory"] = _folder.Combine("projects"),
            ["Batchkeeper__LogDirectory"] = _folder.Combine("logs"),
            ["Batchkeeper__Local__WorkDirectory"] = _folder.Combine("work"),
            ["Batchkeeper__Notifications__Directory"] = _folder.Combine("notify"),
            ["Batchkeeper__Notifications__Webhooks__0__Url"] = receiver.Url("slack"),
            ["Batchkeeper__Notifications__Webhooks__1__Url"] = receiver.Url("gone"),
            ["Batchkeeper__Notifications__Webhooks__1__Format"] = "json",
        };

        await using var cli = DaemonProcess.Start(_folder.Path, environment, "notify", "test");
        var exit = await cli.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(1, exit);
        Assert.Contains("webhook 1 (127.0.0.1), slack: 200 OK (ok)", cli.Stdout);
        Assert.Contains("webhook 2 (127.0.0.1), json: 404 Not Found (FAILED)", cli.Stdout);
        var test = Assert.Single(receiver.PostsTo("slack")).Json;
        Assert.Contains("test message", test.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(receiver.Secret, string.Join('\n', cli.Stdout.Concat(cli.Stderr)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WebhookUrlThatIsNotAUrl_IsOneConfigurationLine_ThatDoesNotQuoteIt_AndExit2()
    {
        var environment = new Dictionary<string, string>
        {
            ["Batchkeeper__ProjectsDirectory"] = _folder.Combine("projects"),
            ["Batchkeeper__LogDirectory"] = _folder.Combine("logs"),
            ["Batchkeeper__Local__WorkDirectory"] = _folder.Combine("work"),
            ["Batchkeeper__Notifications__Webhooks__0__Url"] = "hooks.slack.com/services/T0SECRET/B0SECRET/xyzzy",
            ["Batchkeeper__Notifications__Webhooks__0__Format"] = "teams",
        };

        await using var daemon = DaemonProcess.Start(_folder.Path, environment, "run");
        var exit = await daemon.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, exit);
        var errors = string.Join('\n', daemon.Stderr);
        Assert.Contains("Batchkeeper:Notifications:Webhooks:0:Url", errors, StringComparison.Ordinal);
        Assert.Contains("Batchkeeper:Notifications:Webhooks:0:Format: 'teams' is not allowed: expected slack or json", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET", errors, StringComparison.Ordinal);
    }
}

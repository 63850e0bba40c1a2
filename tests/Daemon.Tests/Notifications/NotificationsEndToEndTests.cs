using System.Text.Json;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Notifications;

/// <summary>Webhooks against the real daemon (local backend, real processes) and a real HTTP receiver on 127.0.0.1.</summary>
public sealed class NotificationsEndToEndTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>One analysis whose job fails with exit 3 and gets one attempt; s1's output is written first, so it is not complete.</summary>
    private const string Failing = """
        {
          "workflow_name": "failing",
          "analyses": [
            { "name": "align", "job_definition": "x:1", "queue": "local", "retry": { "max_attempts": 1 },
              "command": ["sh", "-c", "echo oops >&2; exit 3"], "outputs": ["out/{sample_name}.bam"] }
          ]
        }
        """;

    private Dictionary<string, string?> Settings(WebhookReceiver receiver, params (string Name, string Format, string? Events)[] hooks)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Batchkeeper:ReconcileInterval"] = "00:00:01",
            ["Batchkeeper:Notifications:Directory"] = _folder.Combine("notify"),
            ["Batchkeeper:Notifications:RetryBackoff"] = "00:00:00.500",
            ["Batchkeeper:Notifications:MaxRetryBackoff"] = "00:00:02",
        };
        for (var i = 0; i < hooks.Length; i++)
        {
            settings[$"Batchkeeper:Notifications:Webhooks:{i}:Url"] = receiver.Url(hooks[i].Name);
            settings[$"Batchkeeper:Notifications:Webhooks:{i}:Format"] = hooks[i].Format;
            var events = hooks[i].Events?.Split(',') ?? [];
            for (var k = 0; k < events.Length; k++)
            {
                settings[$"Batchkeeper:Notifications:Webhooks:{i}:Events:{k}"] = events[k];
            }
        }

        return settings;
    }

    /// <summary>Waits for <paramref name="passes"/> more passes of a workflow, so that a second message would have been sent by then.</summary>
    private static async Task MorePassesAsync(string workflow, int passes = 3)
    {
        var from = await TestDaemon.WaitForLastPassAtAsync(workflow);
        await TestDaemon.WaitForPassAsync(workflow, from + TimeSpan.FromSeconds(passes - 0.5), $"{passes} more passes");
    }

    private static string[] Types(IEnumerable<JsonElement> events) => events.Select(e => e.GetProperty("type").GetString()!).ToArray();

    [Fact]
    public async Task SlotFailedForGood_IsOneMessageWithEveryField_InBothFormats_AndNeverAgain()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var daemon = await TestDaemon.StartAsync(_folder.Path, Settings(receiver, ("slack", "slack", null), ("json", "json", null)));
        Demo.CreateProject(daemon.Projects, "study", ("s1", 1));
        var workflow = daemon.WorkflowPath("study", "failing.json");
        Demo.Drop(workflow, Failing);

        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Slots.Any(x => x.State == SlotState.FailedPermanently), "the slot fails for good");
        await Eventually.WaitAsync(() => receiver.PostsTo("json").Count > 0 && receiver.PostsTo("slack").Count > 0, "both webhooks hear of it");
        await MorePassesAsync(workflow);

        var json = Assert.Single(receiver.PostsTo("json")).Json;
        Assert.Equal("batchkeeper.event/1", json.GetProperty("schema").GetString());
        var e = Assert.Single(json.GetProperty("events").EnumerateArray());
        var snapshot = (await TestDaemon.ReadSnapshotAsync(workflow))!;
        var slot = Assert.Single(snapshot.Slots);
        Assert.Equal("slot_failed", e.GetProperty("type").GetString());
        Assert.StartsWith("evt_", e.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal(("study", "failing", "failing.json", "s1", "align"),
            (e.GetProperty("project").GetString(), e.GetProperty("workflow").GetString(), e.GetProperty("file").GetString(),
             e.GetProperty("sample").GetString(), e.GetProperty("analysis").GetString()));
        Assert.Equal(slot.JobName, e.GetProperty("job_name").GetString());
        Assert.Equal(slot.History[^1].JobId, e.GetProperty("job_id").GetString());
        Assert.Equal("local", e.GetProperty("queue").GetString());
        Assert.Equal("FAILED", e.GetProperty("status").GetString());
        Assert.Equal(3, e.GetProperty("exit_code").GetInt32());
        Assert.Equal("failed", e.GetProperty("failure_class").GetString());
        Assert.Equal((1, 1), (e.GetProperty("attempt").GetInt32(), e.GetProperty("max_attempts").GetInt32()));
        Assert.False(string.IsNullOrEmpty(e.GetProperty("reason").GetString()));
        Assert.Equal(slot.LogStream, e.GetProperty("log_path").GetString());
        Assert.Equal(1, e.GetProperty("counts").GetProperty("failed").GetInt32());
        Assert.Contains(e.GetProperty("commands").EnumerateArray(), c => c.GetString()!.StartsWith("batchkeeper logs ", StringComparison.Ordinal));

        var slack = Assert.Single(receiver.PostsTo("slack")).Json;
        var text = slack.GetProperty("blocks")[0].GetProperty("text").GetProperty("text").GetString()!;
        Assert.Contains("*slot_failed*", text, StringComparison.Ordinal);
        foreach (var part in new[] { "sample `s1`", "analysis `align`", slot.JobName!, slot.History[^1].JobId, "queue local", "status FAILED", "exit code 3", "attempt 1 of 1", "batchkeeper status " })
        {
            Assert.Contains(part, text, StringComparison.Ordinal);
        }

        Assert.False(string.IsNullOrEmpty(slack.GetProperty("text").GetString()));
    }

    [Fact]
    public async Task CompletedWorkflow_IsOneWorkflowComplete_AndTheUrlIsInNoLogSnapshotDashboardOrOutbox()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using (var daemon = await TestDaemon.StartAsync(_folder.Path, Settings(receiver, ("json", "json", "slot_failed,workflow_complete,daemon"))))
        {
            Demo.CreateProject(daemon.Projects, "demo", ("a", 2), ("b", 3));
            var workflow = daemon.WorkflowPath("demo", "wordcount.json");
            Demo.Drop(workflow, Demo.Workflow);

            await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == s.Summary.Total && s.Summary.Total > 0, "the demo converges");
            await Eventually.WaitAsync(() => Types(receiver.EventsTo("json")).Contains("workflow_complete"), "the completion is told");
            await MorePassesAsync(workflow);
            Assert.Single(Types(receiver.EventsTo("json")), t => t == "workflow_complete");
            Assert.Contains("daemon", Types(receiver.EventsTo("json")));
        }

        var written = Directory.GetFiles(_folder.Path, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".status.json", StringComparison.Ordinal) || f.EndsWith("dashboard.json", StringComparison.Ordinal)
                        || f.StartsWith(_folder.Combine("logs"), StringComparison.Ordinal) || f.StartsWith(_folder.Combine("notify"), StringComparison.Ordinal))
            .ToArray();
        Assert.Contains(written, f => f.EndsWith("told.json", StringComparison.Ordinal));
        Assert.Contains(written, f => f.StartsWith(_folder.Combine("logs"), StringComparison.Ordinal));
        var secret = receiver.Secret.Split('/')[^1];
        Assert.DoesNotContain(written, f => File.ReadAllText(f).Contains(secret, StringComparison.Ordinal));
        Assert.True(LogFiles.HasLine(LogFiles.Read(_folder.Combine("logs")), "webhook 1 (127.0.0.1)"), "the log names the webhook by number and host");
    }

    [Fact]
    public async Task ReceiverDownFor30Seconds_GetsEveryMessageOnceWhenBack_AndPassesWentOnMeanwhile()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var daemon = await TestDaemon.StartAsync(_folder.Path, Settings(receiver, ("json", "json", null)));
        await receiver.DownAsync();
        Demo.CreateProject(daemon.Projects, "study", ("s1", 1), ("s2", 1), ("s3", 1));
        var workflow = daemon.WorkflowPath("study", "failing.json");
        Demo.Drop(workflow, Failing);

        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Failed == 3, "every slot fails for good");
        var downSince = DateTimeOffset.UtcNow;
        // While the receiver is down, the passes keep their pace: at least 20 in 30 s at one a second.
        var passesBefore = await TestDaemon.WaitForLastPassAtAsync(workflow);
        await Eventually.WaitAsync(() => DateTimeOffset.UtcNow - downSince > TimeSpan.FromSeconds(30), "30 s of outage", TimeSpan.FromSeconds(40));
        var during = await TestDaemon.WaitForLastPassAtAsync(workflow);
        Assert.True(during - passesBefore > TimeSpan.FromSeconds(20), $"passes went on: last at {during:O}, first {passesBefore:O}");
        Assert.Empty(receiver.Posts);

        await receiver.UpAsync();
        await Eventually.WaitAsync(() => receiver.EventsTo("json").Count >= 3, "the three failures arrive once the receiver is back", TimeSpan.FromSeconds(30));
        await MorePassesAsync(workflow);
        var ids = receiver.EventsTo("json").Select(e => e.GetProperty("id").GetString()).ToArray();
        Assert.Equal(3, ids.Length);
        Assert.Equal(3, ids.Distinct().Count());
        Assert.True(LogFiles.HasLine(LogFiles.Read(daemon.LogDirectory), "webhook 1 (127.0.0.1) did not take a message"), "the outage is logged");
    }

    [Fact]
    public async Task TooManyRequests_IsTriedAgainAfterRetryAfter_AndAnother4xxDropsTheMessageOnce()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var throttled = 0;
        receiver.Answer = post => post.Path.Contains("/gone/", StringComparison.Ordinal) ? (404, null)
            : Interlocked.Increment(ref throttled) <= 2 ? (429, "1") : (200, null);
        await using var daemon = await TestDaemon.StartAsync(_folder.Path, Settings(receiver, ("json", "json", null), ("gone", "json", null)));
        Demo.CreateProject(daemon.Projects, "study", ("s1", 1));
        var workflow = daemon.WorkflowPath("study", "failing.json");
        Demo.Drop(workflow, Failing);

        await Eventually.WaitAsync(() => receiver.EventsTo("json").Count == 1, "delivered after two 429s");
        await MorePassesAsync(workflow);
        Assert.Equal(3, throttled);
        var tries = receiver.Attempts.Where(a => a.Post.Path.Contains("/json/", StringComparison.Ordinal)).Select(a => a.Post.At).ToArray();
        Assert.Equal(3, tries.Length);
        // Retry-After: 1 is honoured, where the backoff alone (0.25–0.5 s at the first retry) would have come sooner.
        Assert.All(tries.Zip(tries.Skip(1)), pair => Assert.True(pair.Second - pair.First >= TimeSpan.FromSeconds(0.9), $"{pair.Second - pair.First} between tries"));
        var log = LogFiles.Read(daemon.LogDirectory);
        Assert.Equal(1, LogFiles.CountLines(log, "webhook 2 (127.0.0.1) refused a message with 404"));
        Assert.True(LogFiles.HasLine(log, "webhook 1 (127.0.0.1) did not take a message: 429"), "the throttling is logged");
        Assert.Empty(Directory.GetFiles(_folder.Combine("notify", "outbox"), "*.json"));
    }
}

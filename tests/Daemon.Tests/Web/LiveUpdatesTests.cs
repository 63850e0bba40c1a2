using System.Diagnostics;
using System.Net.ServerSentEvents;
using System.Text.Json.Nodes;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Batchkeeper.Daemon.Web;

namespace Batchkeeper.Daemon.Tests.Web;

/// <summary><c>/api/events</c> of a real daemon read as a browser's EventSource reads it: what it says, how often, and that it never holds up a stop.</summary>
public sealed class LiveUpdatesTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static async Task<(HttpResponseMessage Answer, IAsyncEnumerator<SseItem<string>> Events)> OpenAsync(HttpClient http)
    {
        var answer = await http.GetAsync(LiveUpdates.Path, HttpCompletionOption.ResponseHeadersRead);
        answer.EnsureSuccessStatusCode();
        Assert.Equal("text/event-stream", answer.Content.Headers.ContentType?.MediaType);
        var events = SseParser.Create(await answer.Content.ReadAsStreamAsync()).EnumerateAsync().GetAsyncEnumerator();
        return (answer, events);
    }

    private static async Task<(long Version, TimeSpan At)> NextAsync(IAsyncEnumerator<SseItem<string>> events, Stopwatch clock)
    {
        Assert.True(await events.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60)), "the stream ended");
        Assert.Equal("changed", events.Current.EventType);
        Assert.Equal(TimeSpan.FromSeconds(1), events.Current.ReconnectionInterval);
        return ((long)JsonNode.Parse(events.Current.Data)!["version"]!, clock.Elapsed);
    }

    [Fact]
    public async Task Events_SayChangedAtOnce_ThenWithANewerVersionAfterEachPass_AtMostFourTimesASecond()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        using var http = await WorkflowApiTests.ClientOf(daemon);
        var (answer, events) = await OpenAsync(http);
        using var _ = answer;
        var clock = Stopwatch.StartNew();
        var (first, _) = await NextAsync(events, clock);

        Demo.CreateProject(daemon.Projects, "demo", ("alpha", 3), ("beta", 4), ("gamma", 5));
        var workflow = daemon.WorkflowPath("demo", "wordcount.json");
        Demo.Drop(workflow, Demo.Workflow);
        var seen = new List<(long Version, TimeSpan At)>();
        var done = TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 6, "the demo completes");
        while (!done.IsCompleted || seen.Count < 2)
        {
            seen.Add(await NextAsync(events, clock));
        }

        await done;
        Assert.All(seen, e => Assert.True(e.Version > first));
        Assert.Equal(seen.Select(e => e.Version).Order(), seen.Select(e => e.Version));
        Assert.Equal(seen.Count, seen.Select(e => e.Version).Distinct().Count());
        // Coalesced: however many passes end, the daemon sends at most one event a quarter of a second (and the first at once).
        var allowed = 1 + (int)Math.Ceiling(seen[^1].At / TimeSpan.FromSeconds(1.0 / LiveUpdates.MaxEventsPerSecond));
        Assert.True(seen.Count + 1 <= allowed, $"{seen.Count + 1} events in {seen[^1].At.TotalMilliseconds:0} ms");

        var list = await WorkflowApiTests.GetJsonAsync(http, "/api/workflows");
        Assert.True((long)list["version"]! >= seen[^1].Version - 1);
    }

    [Fact]
    public async Task Stop_WithAnOpenEventStream_EndsTheStream_AndTheDaemonStopsPromptly()
    {
        var daemon = await TestDaemon.StartAsync(_folder.Path);
        using var http = await WorkflowApiTests.ClientOf(daemon);
        var (answer, events) = await OpenAsync(http);
        using var _ = answer;
        await NextAsync(events, Stopwatch.StartNew());

        var stopping = Stopwatch.StartNew();
        await daemon.DisposeAsync();
        stopping.Stop();

        // Kestrel's graceful stop would wait for an open stream up to its 30 s; it ends as the daemon begins to stop.
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(10), $"the stop took {stopping.Elapsed.TotalSeconds:0.0} s");
        Assert.False(await events.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)), "the stream ended with the daemon");
    }
}

using System.Text.Json;
using System.Text.RegularExpressions;
using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Web;

/// <summary>A standby's page: served while it waits for the lock, saying so, and the holder's once it takes over.</summary>
public sealed partial class StandbyPageTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [GeneratedRegex(@"Status page at (http://127\.0\.0\.1:\d+/)")]
    private static partial Regex AddressLine();

    [Fact]
    public async Task AStandby_ServesItsPageWhileItWaits_SayingStandbyForTheHolder_ThenHeldOnceItTakesOver()
    {
        var active = await TestDaemon.StartAsync(_folder.Path);
        var activeStopped = false;
        await using var standby = DaemonProcess.Start(_folder.Path, new Dictionary<string, string>
        {
            ["Batchkeeper__ProjectsDirectory"] = active.Projects,
            ["Batchkeeper__LogDirectory"] = _folder.Combine("standby-logs"),
            ["Batchkeeper__Local__WorkDirectory"] = active.WorkDirectory,
        }, "run", "--standby");
        try
        {
            var line = await Eventually.WaitAsync(
                () => Task.FromResult(standby.Stdout.FirstOrDefault(l => AddressLine().IsMatch(l))), l => l is not null, "the standby logs its page's address");
            using var http = new HttpClient { BaseAddress = new Uri(AddressLine().Match(line).Groups[1].Value) };

            var waiting = await DaemonJson(http);
            Assert.Equal("standby", waiting.GetProperty("lock").GetString());
            Assert.Equal(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), waiting.GetProperty("standby_for").GetString());
            Assert.StartsWith("ok: standby", await http.GetStringAsync("/healthz"), StringComparison.Ordinal);

            await active.DisposeAsync();
            activeStopped = true;
            var held = await Eventually.WaitAsync(() => DaemonJsonText(http), j => j?.Contains("\"lock\": \"held\"", StringComparison.Ordinal) == true, "the page says held after the takeover");
            Assert.Equal(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), JsonDocument.Parse(held).RootElement.GetProperty("took_over_from").GetString());
            Assert.Equal("ok\n", await http.GetStringAsync("/healthz"));
        }
        finally
        {
            if (!activeStopped)
            {
                await active.DisposeAsync();
            }
        }
    }

    private static async Task<string?> DaemonJsonText(HttpClient http) => await http.GetStringAsync("/api/daemon");

    private static async Task<JsonElement> DaemonJson(HttpClient http) =>
        JsonDocument.Parse(await http.GetStringAsync("/api/daemon")).RootElement;
}

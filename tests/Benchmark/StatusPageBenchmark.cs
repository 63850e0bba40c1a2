using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace Batchkeeper.Benchmark;

/// <summary>
/// <c>dotnet run -c Release --project tests/Benchmark -- --status-page [--sizes goal] [--repeats 50] [--out status-page.json]</c>:
/// the real daemon (a child process) at the reconcile benchmark's scenario (goal: 100 workflows × 1,000 samples × 3
/// analyses), its status page measured over HTTP (p50/p95 of each answer the overview and a workflow page fetch, idle
/// and while every workflow's pass runs) and in Debian's chromium (the time until the overview shows its 100 rows and a
/// 1,000 × 3 workflow its grid, and a filter's answer). It prints figures; docs/performance.md records them.
/// </summary>
public static class StatusPageBenchmark
{
    private static void Say(string message) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] status page: {message}");

    public static async Task<int> RunAsync(string[] args)
    {
        var label = "goal";
        int repeats = 50, browserRepeats = 10;
        var output = "status-page.json";
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--sizes": label = Value(); break;
                case "--repeats": repeats = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--browser-repeats": browserRepeats = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--out": output = Value(); break;
                default: await Console.Error.WriteLineAsync($"benchmark: unknown argument {args[i]}"); return 2;
            }
        }

        var size = label == "goal" ? new Size("goal", 100, 1_000, 3, 15) : new Size("small", 100, 100, 3, 15);
        var (root, s3, emulator, scenario) = await Program.StartScenarioAsync(size, TimeSpan.FromMilliseconds(20), 0.01, Say);
        await using var _ = s3;
        await using var __ = emulator;
        var url = $"http://127.0.0.1:{FreePort()}";
        var results = new List<Figure>();
        await using (var daemon = DaemonUnderTest.Start(root, emulator.BaseAddress, s3.ServiceUrl, 20, 0, url))
        {
            var tracker = new SnapshotTracker(scenario.WorkflowFiles);
            await tracker.WaitForAsync(s => s.Complete + s.Active == size.Samples * size.Analyses, TimeSpan.FromMinutes(30), () => daemon.HasExited);
            using var http = new HttpClient { BaseAddress = new Uri(url) };
            var list = JsonNode.Parse(await http.GetStringAsync("/api/workflows"))!;
            var count = list["workflows"]!.AsArray().Count;
            var id = (string)list["workflows"]![0]!["id"]!;
            var grid = JsonNode.Parse(await http.GetStringAsync($"/api/workflows/{id}/grid?state=running"))!;
            var running = (string)grid["rows"]![0]!["sample"]!;
            Say($"{count} workflows served at {url}; measuring {id} ({(int)grid["samples"]!} samples)");

            string[] overview = ["/api/workflows", "/api/daemon"];
            string[] workflow = [$"/api/workflows/{id}/grid", $"/api/workflows/{id}/failures", $"/api/workflows/{id}/grid?state=running&q=0",
                $"/api/workflows/{id}/slot?sample={running}&analysis=a1", $"/api/workflows/{id}"];
            foreach (var path in overview.Concat(workflow))
            {
                results.Add(await MeasureAsync(http, "idle", path, repeats));
            }

            results.Add(await MeasureAsync(http, "idle", "overview (both at once, as the page asks)", repeats, overview));

            // The same while a pass of every workflow runs (a SIGHUP): reads never wait for a pass.
            daemon.ReconcileAll();
            var passStart = DateTimeOffset.UtcNow;
            var during = await MeasureAsync(http, "during passes", "/api/workflows", repeats);
            results.Add(during);
            results.Add(await MeasureAsync(http, "during passes", $"/api/workflows/{id}/grid", repeats));
            Say($"passes {(DateTimeOffset.UtcNow - passStart).TotalSeconds:F1} s in by the end of those reads");
            await tracker.WaitAllPassedAfterAsync(scenario.ProjectsDirectory, passStart, TimeSpan.FromMinutes(10), () => daemon.HasExited);

            if (File.Exists("/usr/bin/chromium"))
            {
                results.AddRange(await BrowserAsync(url, id, (int)list["workflows"]!.AsArray().Count, browserRepeats));
            }
            else
            {
                Say("no /usr/bin/chromium (apt-get install chromium): the browser figures are left out");
            }
        }

        Console.WriteLine();
        Console.WriteLine($"{"when",-14} {"what",-62} {"n",4} {"p50 ms",8} {"p95 ms",8} {"max ms",8} {"bytes",9}");
        foreach (var f in results)
        {
            Console.WriteLine($"{f.When,-14} {f.What,-62} {f.Count,4} {f.P50,8:F1} {f.P95,8:F1} {f.Max,8:F1} {f.Bytes,9:N0}");
        }

        await File.WriteAllTextAsync(output, JsonSerializer.Serialize(new { size, results }, Report.Json));
        Console.WriteLine($"results: {Path.GetFullPath(output)}");
        Directory.Delete(root, recursive: true);
        return 0;
    }

    private static async Task<Figure> MeasureAsync(HttpClient http, string when, string what, int repeats, string[]? paths = null)
    {
        paths ??= [what];
        var times = new List<double>();
        long bytes = 0;
        for (var i = 0; i < repeats + 3; i++)
        {
            var clock = Stopwatch.StartNew();
            var bodies = await Task.WhenAll(paths.Select(p => http.GetByteArrayAsync(p)));
            if (i >= 3)
            {
                times.Add(clock.Elapsed.TotalMilliseconds); // the first three warm up (JIT, connections)
            }

            bytes = bodies.Sum(b => (long)b.Length);
        }

        return Figure.Of(when, what, times, bytes);
    }

    /// <summary>A fresh page each time (no cache): navigation to the overview's rows, and to a workflow's grid; then a filter.</summary>
    private static async Task<List<Figure>> BrowserAsync(string url, string id, int workflows, int repeats)
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = "/usr/bin/chromium", Headless = true });
        var overview = new List<double>();
        var grid = new List<double>();
        var filter = new List<double>();
        for (var i = 0; i < repeats + 1; i++)
        {
            await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = url, ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
            var page = await context.NewPageAsync();
            var clock = Stopwatch.StartNew();
            await page.GotoAsync("/");
            await page.Locator("tr[data-workflow]").Nth(workflows - 1).WaitForAsync();
            var a = clock.Elapsed.TotalMilliseconds;

            page = await context.NewPageAsync(); // a load of its own, as a link or a bookmark opens it
            clock.Restart();
            await page.GotoAsync($"/#/w/{id}");
            await page.Locator("table.grid tbody tr").Nth(199).WaitForAsync();
            var b = clock.Elapsed.TotalMilliseconds;

            clock.Restart();
            await page.Locator("select.state-filter").SelectOptionAsync("running");
            await page.Locator("table.grid tbody tr").Nth(199).WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Detached });
            var c = clock.Elapsed.TotalMilliseconds;
            if (i > 0)
            {
                (overview, grid, filter) = ([.. overview, a], [.. grid, b], [.. filter, c]);
            }
        }

        return
        [
            Figure.Of("browser", $"overview: navigation until all {workflows} rows are shown", overview, 0),
            Figure.Of("browser", $"workflow page: load until {id}'s first 200 grid rows are shown", grid, 0),
            Figure.Of("browser", "filter by state: until the grid shows only the running samples", filter, 0),
        ];
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed record Figure(string When, string What, int Count, double P50, double P95, double Max, long Bytes)
    {
        public static Figure Of(string when, string what, List<double> times, long bytes)
        {
            var sorted = times.Order().ToArray();
            double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
            return new Figure(when, what, sorted.Length, Math.Round(At(0.5), 1), Math.Round(At(0.95), 1), Math.Round(sorted[^1], 1), bytes);
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Batchkeeper.Daemon.Tests.Systemd;

namespace Batchkeeper.Daemon.Tests.Metrics;

/// <summary>One family of a scrape (its name without a counter's <c>_total</c>, as the parser names it), samples or not.</summary>
public sealed record PrometheusFamily(string Name, string Type, string Help);

/// <summary>One sample of a scrape, as the official parser read it.</summary>
public sealed record PrometheusSample(string Family, string Type, string Help, string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    public string? Label(string name) => Labels.GetValueOrDefault(name);
}

/// <summary>
/// A scrape of <c>/metrics</c> read by Prometheus's own tools from Debian, not by a pattern of ours: the text is parsed by
/// the official Python client's parser (<c>prometheus_client.parser.text_string_to_metric_families</c>, package
/// python3-prometheus-client) and linted by <c>promtool check metrics</c> (package prometheus). Where they are missing
/// they are installed with apt-get, once, under a lock (as root; .ci/run does it too); where that cannot be done,
/// <see cref="SkipReason"/> says why and the tests that need them are skipped with it.
/// </summary>
public static class PrometheusText
{
    /// <summary>Debian's interpreter, which sees Debian's python3-* packages (a python3 first on PATH may be another one).</summary>
    private const string Python = "/usr/bin/python3";

    /// <summary>Every family and sample as JSON lines; values as text, since the JSON has no infinity or NaN.</summary>
    private const string ParseScript = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        for family in text_string_to_metric_families(open(sys.argv[1], encoding="utf-8").read()):
            print(json.dumps({"family": family.name, "type": family.type, "help": family.documentation}))
            for s in family.samples:
                print(json.dumps({"family": family.name, "type": family.type, "help": family.documentation,
                                  "name": s.name, "labels": s.labels, "value": repr(float(s.value))}))
        """;

    private static readonly Lazy<Task<string?>> Installed = new(InstallAsync);

    /// <summary>Null once both tools work here; else why they cannot.</summary>
    public static Task<string?> SkipReason => Installed.Value;

    /// <summary>Skips the test, saying why, where the tools cannot be had (installing them first where they can).</summary>
    public static async Task SkipIfMissingAsync()
    {
        var reason = await SkipReason;
        Skip.If(reason is not null, reason);
    }

    /// <summary>Every family and sample of <paramref name="text"/>, as the official parser reads them; a text it cannot parse fails the test.</summary>
    public static async Task<(IReadOnlyList<PrometheusFamily> Families, IReadOnlyList<PrometheusSample> Samples)> ParseAsync(string text)
    {
        using var file = new TempFolder();
        var metrics = Path.Combine(file.Path, "metrics.txt");
        var script = Path.Combine(file.Path, "parse.py");
        await File.WriteAllTextAsync(metrics, text);
        await File.WriteAllTextAsync(script, ParseScript);
        var (code, output) = await RunAsync(Python, script, metrics);
        Assert.True(code == 0, $"prometheus_client's parser refused the scrape (exit code {code}):\n{output}\n--- scrape ---\n{text}");
        var families = new List<PrometheusFamily>();
        var samples = new List<PrometheusSample>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            var family = new PrometheusFamily(root.GetProperty("family").GetString()!, root.GetProperty("type").GetString()!, root.GetProperty("help").GetString()!);
            if (!root.TryGetProperty("name", out var name))
            {
                families.Add(family);
                continue;
            }

            samples.Add(new PrometheusSample(
                family.Name, family.Type, family.Help, name.GetString()!,
                root.GetProperty("labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal),
                Number(root.GetProperty("value").GetString()!)));
        }

        return (families, samples);
    }

    /// <summary><c>promtool check metrics</c> on the text: its exit code and what it found (metric naming, help, types).</summary>
    public static async Task<(int Code, string Problems)> LintAsync(string text)
    {
        using var file = new TempFolder();
        var metrics = Path.Combine(file.Path, "metrics.txt");
        await File.WriteAllTextAsync(metrics, text);
        // It reads the scrape on standard input only.
        return await RunAsync("/bin/sh", "-c", "exec \"$1\" check metrics < \"$0\"", metrics, Promtool);
    }

    /// <summary><c>promtool check config</c> on a Prometheus configuration: its exit code and what it said.</summary>
    public static async Task<(int Code, string Output)> CheckConfigAsync(string yaml)
    {
        using var file = new TempFolder();
        var config = Path.Combine(file.Path, "prometheus.yml");
        await File.WriteAllTextAsync(config, yaml);
        return await RunAsync(Promtool, "check", "config", config);
    }

    private static double Number(string repr) => repr switch
    {
        "inf" => double.PositiveInfinity,
        "-inf" => double.NegativeInfinity,
        "nan" => double.NaN,
        _ => double.Parse(repr, CultureInfo.InvariantCulture),
    };

    private static Task<(int Code, string Output)> RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return BookwormContainer.RunAsync(start, TimeSpan.FromMinutes(1), $"{program} {string.Join(' ', args)}");
    }

    /// <summary>
    /// Where the tests keep promtool: unpacked from Debian's prometheus package, not installed, because installing it
    /// would also enable a Prometheus server (prometheus.service, on every address at :9090) on a machine run by systemd.
    /// </summary>
    private static string Cache => Path.Combine(RepoPaths.Root, "tests", ".cache");

    private static string Promtool => BookwormContainer.Which("promtool") ?? Path.Combine(Cache, "prometheus", "usr", "bin", "promtool");

    private static async Task<string?> Missing()
    {
        var missing = new List<string>();
        if (!File.Exists(Promtool))
        {
            missing.Add("promtool (Debian package prometheus)");
        }

        if (!File.Exists(Python) || (await RunAsync(Python, "-c", "import prometheus_client.parser")).Code != 0)
        {
            missing.Add($"prometheus_client for {Python} (Debian package python3-prometheus-client)");
        }

        return missing.Count == 0 ? null : string.Join(" and ", missing);
    }

    private static async Task<string?> InstallAsync()
    {
        if (await Missing() is not { } missing)
        {
            return null;
        }

        if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || BookwormContainer.Which("apt-get") is null)
        {
            return $"not installed: {missing}; installing it needs root and apt-get (.ci/run does it)";
        }

        // One install for every test run on this machine at once (apt's own lock would fail the second one).
        Directory.CreateDirectory(Cache);
        using (await BookwormContainer.LockAsync(Path.Combine(Cache, "apt.lock")))
        {
            if (await Missing() is null)
            {
                return null;
            }

            var (code, output) = await BookwormContainer.RunAsync(
                new ProcessStartInfo("/bin/sh")
                {
                    // python3-prometheus-client is a library (installed); promtool comes out of the prometheus package
                    // unpacked into the cache (Promtool says why).
                    ArgumentList =
                    {
                        "-c",
                        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-prometheus-client " +
                        "&& rm -rf \"$0/prometheus\" && mkdir -p \"$0/prometheus\" && cd \"$0/prometheus\" && apt-get download -qq prometheus " +
                        "&& dpkg-deb -x prometheus_*.deb . && rm -f prometheus_*.deb",
                        Cache,
                    },
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    RedirectStandardInput = true,
                    UseShellExecute = false,
                },
                TimeSpan.FromMinutes(8),
                "apt-get install prometheus python3-prometheus-client");
            if (code != 0)
            {
                var tail = string.Join("\n", output.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(5));
                return $"apt-get could not install prometheus and python3-prometheus-client (exit code {code}):\n{tail}";
            }
        }

        return await Missing() is { } still ? $"still missing after apt-get install: {still}" : null;
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Batchkeeper.BatchEmulator;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Benchmark;

/// <summary>
/// <c>dotnet run -c Release --project tests/Benchmark -- [--sizes small,goal,large] [--modes events,adaptive,shared]
/// [--foreign 20000] [--latency-ms 20] [--rps 20] [--in-flight 15] [--spread even|last] [--changed 0.01] [--rounds 3]
/// [--pass-concurrency N] [--out benchmark.json] [--keep] [--gcdump PATH]</c>: see docs/performance.md.
/// </summary>
public static class Program
{
    private static readonly Dictionary<string, Func<int, Size>> Sizes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["small"] = f => new Size("small", 100, 100, 3, f),
        ["goal"] = f => new Size("goal", 100, 1_000, 3, f),
        ["large"] = f => new Size("large", 100, 10_000, 3, f),
    };

    public static async Task<int> Main(string[] args)
    {
        if (args.Contains("--status-page"))
        {
            return await StatusPageBenchmark.RunAsync([.. args.Where(a => a != "--status-page")]);
        }

        var options = new BenchmarkOptions();
        try
        {
            options = BenchmarkOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"benchmark: {e.Message}");
            return 2;
        }

        var results = new List<SizeResult>();
        var modes = new List<(string Size, ModeResult Result)>();
        foreach (var label in options.Sizes)
        {
            var size = (Sizes.TryGetValue(label, out var make) ? make(options.InFlight) : ParseCustom(label, options.InFlight)) with { InFlightLast = options.InFlightLast };
            foreach (var mode in options.Modes)
            {
                var (result, summary) = await RunAsync(size, options, mode);
                results.Add(result);
                modes.Add((size.Label, summary));
                Report.PrintTable(results);
                ModeSetup.PrintTable(modes);
                await File.WriteAllTextAsync(options.Output, JsonSerializer.Serialize(new { options, modes = modes.Select(m => new { size = m.Size, m.Result }), results }, Report.Json));
            }
        }

        Console.WriteLine($"results: {Path.GetFullPath(options.Output)}");
        return 0;
    }

    /// <summary><c>WxSxA</c>, e.g. <c>10x200x3</c>.</summary>
    private static Size ParseCustom(string label, int inFlight)
    {
        var parts = label.Split('x');
        if (parts.Length != 3 || !parts.All(p => int.TryParse(p, CultureInfo.InvariantCulture, out var n) && n > 0))
        {
            throw new ArgumentException($"--sizes: '{label}' is neither small, goal, large nor WxSxA");
        }

        var n = parts.Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        return new Size(label, n[0], n[1], n[2], Math.Min(inFlight, n[1]));
    }

    private static void Say(Size size, string message) =>
        Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {size.Label}: {message}");

    /// <summary>
    /// The scenario of <paramref name="size"/> in a new folder: S3 and Batch started and seeded, every in-flight chain
    /// RUNNING in Batch, and <paramref name="foreign"/> other users' jobs RUNNING in the same queue (the shared mode).
    /// </summary>
    internal static async Task<(string Root, MemoryS3 S3, Emulator Emulator, Scenario Scenario)> StartScenarioAsync(
        Size size, TimeSpan latency, double changed, Action<string> say, Mode mode = Mode.Adaptive, int foreign = 0)
    {
        var root = Directory.CreateTempSubdirectory("bk-bench-").FullName;
        say($"mode {mode}: {size.Workflows} workflows × {size.Samples} samples × {size.Analyses} analyses = {size.Slots:N0} slots, {size.InFlightPerWorkflow} samples in flight per workflow ({(size.InFlightLast ? "the last ones" : "spread evenly")}){(foreign > 0 ? $", {foreign:N0} other users' jobs in the queue" : "")}, in {root}");
        var s3 = await MemoryS3.StartAsync(latency);
        var emulatorOptions = new BatchEmulatorOptions
        {
            RunDuration = TimeSpan.FromDays(1),
            SubmittedDuration = TimeSpan.FromMilliseconds(20),
            PendingDuration = TimeSpan.FromMilliseconds(20),
            RunnableDuration = TimeSpan.FromMilliseconds(20),
            StartingDuration = TimeSpan.FromMilliseconds(20),
            // The state machine walks every active job each tick, in this process, beside the daemon: not too often.
            TickInterval = TimeSpan.FromMilliseconds(50),
            S3ServiceUrl = new Uri(s3.ServiceUrl),
            MaxRecordedRequests = 5_000_000,
        };
        ModeSetup.Configure(emulatorOptions, mode);
        var emulator = await Emulator.StartAsync(emulatorOptions);

        var setup = Stopwatch.StartNew();
        var scenario = await Scenario.CreateAsync(root, size, s3, emulator, changed, say);
        var chains = scenario.Chains.Count;
        if (foreign > 0)
        {
            await Scenario.SubmitForeignAsync(emulator, foreign);
        }

        await emulator.WaitUntilAsync(jobs => jobs.Count(j => j.Status == "RUNNING") == chains + foreign, TimeSpan.FromMinutes(5));
        say($"set up in {setup.Elapsed.TotalSeconds:F0} s: {chains} chains in Batch ({chains * size.Analyses} active jobs, {chains} RUNNING){(foreign > 0 ? $", and {foreign:N0} other users' jobs RUNNING" : "")}");

        // The events of the set-up are history: the daemon's start-up sweep learns every state anyway.
        emulator.EventsQueue?.Purge();
        return (root, s3, emulator, scenario);
    }

    private static async Task<(SizeResult, ModeResult)> RunAsync(Size size, BenchmarkOptions options, Mode mode)
    {
        var latency = TimeSpan.FromMilliseconds(options.LatencyMs);
        var foreign = mode == Mode.Shared ? options.Foreign : 0;
        var (root, s3, emulator, scenario) = await StartScenarioAsync(size, latency, options.Changed, m => Say(size, m), mode, foreign);
        await using var _ = s3;
        await using var __ = emulator;
        var chains = scenario.Chains.Count;

        // A project for the file-to-first-submission measure; its metadata is there before the daemon starts.
        var fresh = Path.Combine(scenario.ProjectsDirectory, "fresh");
        Directory.CreateDirectory(fresh);
        await File.WriteAllTextAsync(Path.Combine(fresh, "metadata.csv"), Scenario.MetadataCsv(10));

        emulator.ClearRequests();
        emulator.Faults.Update(f => f with { AddedLatency = latency });
        var tracker = new SnapshotTracker(scenario.WorkflowFiles);
        var result = new SizeResult(size.Label, size.Workflows, size.Samples, size.Analyses, size.Slots, size.InFlightPerWorkflow) { InFlightLast = size.InFlightLast };
        var complete = (long)(size.Samples - size.InFlightPerWorkflow) * size.Analyses * size.Workflows;
        var active = (long)chains * size.Analyses;

        // Outputs the daemon must ask about: at start-up all of them; later only those of slots whose job has ended (the
        // outputs of a job still active do not count yet): none in a steady pass.
        var startupListMinimum = scenario.Outputs(s3, (_, _, _) => true);
        const int listMinimum = 0;
        ModeResult? summary = null;
        await using (var daemon = DaemonUnderTest.Start(root, emulator.BaseAddress, s3.ServiceUrl, options.Rps, options.PassConcurrency, extra: ModeSetup.Daemon(mode, emulator).Concat(options.DaemonEnvironment).ToDictionary()))
        {
            // Start-up: every workflow read, its complete slots found in S3, its in-flight chains adopted from Batch.
            var started = DateTimeOffset.UtcNow;
            var unwritten = tracker.WriteTimes();
            await tracker.WaitForAsync(s => s.Complete == complete / size.Workflows && s.Active == active / size.Workflows, TimeSpan.FromMinutes(30), () => daemon.HasExited);
            var startupEnd = tracker.LastWrite;
            result.StartupCpuSeconds = Math.Round(daemon.CpuSeconds(), 1);
            result.Startup = Measure("start-up", started, startupEnd, emulator, s3,
                new Minimum(Describe: Ceiling(active, 100), ListObjects: startupListMinimum, Submit: 0, ListJobs: scenario.WorkflowFiles.Count * Ceiling(active / size.Workflows, 100)),
                $"{complete:N0} complete and {active:N0} active slots found") with { SnapshotBytesWritten = tracker.BytesWrittenSince(unwritten) };
            Say(size, result.Startup.Describe());
            Say(size, $"start-up: the daemon used {result.StartupCpuSeconds:F1} CPU-seconds ({result.StartupCpuSeconds / (result.Startup.WallMs / 1000):F2} cores)");
            await QuietAsync(emulator);

            for (var round = 1; round <= options.Rounds; round++)
            {
                var pass = await RoundAsync(daemon, tracker, scenario, emulator, s3, $"steady {round}",
                    new Minimum(Describe: Ceiling(active, 100), ListObjects: listMinimum, Submit: 0));
                await tracker.WaitForAsync(s => s.Complete == complete / size.Workflows && s.Active == active / size.Workflows, TimeSpan.FromMinutes(1), () => daemon.HasExited);
                pass = pass with { Note = $"nothing changed; every snapshot still as before; {pass.SnapshotBytesWritten:N0} snapshot bytes written" };
                result.Steady.Add(pass);
                Say(size, pass.Describe());
                Say(size, $"S3 connections opened so far: {s3.Connections}");
                await QuietAsync(emulator);
            }

            if (options.GcDump is not null)
            {
                await GcDumpAsync(daemon.Pid, $"{options.GcDump}.{size.Label}.{mode.ToString().ToLowerInvariant()}.gcdump", m => Say(size, m));
            }

            var perRound = result.Steady.Select(BatchRequests).ToList();
            var worst = result.Steady.MaxBy(BatchRequests)!;
            summary = new ModeResult(
                mode.ToString().ToLowerInvariant(), perRound.Max(), perRound, Ceiling(active, 100), ModeSetup.Goal(mode), Peers.Of(emulator),
                worst.SqsRequests, active, foreign, Math.Round(result.Startup.WallMs / 1000, 1), 0);
            Say(size, $"mode {mode}: {summary.BatchRequestsPerSteadyPass} Batch requests per steady pass, describe minimum {summary.DescribeMinimum} (ratio {summary.Ratio:F2}, goal ≤ {summary.Goal:F2}); computed: Nextflow {summary.Peers.Nextflow}, Snakemake {summary.Peers.Snakemake}, Cromwell {summary.Peers.Cromwell}");

            // 1% of slots change: analysis-1 jobs end, two thirds succeeding (their next analysis starts), one third
            // failing (with everything after it in the chain); the failed ones are resubmitted at once.
            var failed = scenario.ToChange.Count(c => c.Fails);
            var succeeded = scenario.ToChange.Count - failed;
            var before = emulator.Jobs.ToDictionary(j => j.JobId, j => j.Status, StringComparer.Ordinal);
            emulator.EndRuns(scenario.ToChange.Select(c => c.JobId));
            var changedIds = scenario.ToChange.Select(c => c.JobId).ToHashSet(StringComparer.Ordinal);
            var next = scenario.Chains.Where(c => changedIds.Contains(c.JobIds[0])).ToDictionary(c => c.JobIds[0], c => c.JobIds, StringComparer.Ordinal);
            await emulator.WaitUntilAsync(jobs =>
            {
                var byId = jobs.ToDictionary(j => j.JobId, StringComparer.Ordinal);
                return scenario.ToChange.All(c => c.Fails
                    ? next[c.JobId].All(id => byId[id].Status == "FAILED")
                    : byId[c.JobId].Status == "SUCCEEDED" && (size.Analyses == 1 || byId[next[c.JobId][1]].Status == "RUNNING"));
            }, TimeSpan.FromMinutes(5)); // set-up, not measured: with 20,000 other jobs in the queue 2 minutes ran out once
            var changedJobs = emulator.Jobs.Count(j => before.TryGetValue(j.JobId, out var was) && was != j.Status);
            await QuietAsync(emulator);
            var changed = await RoundAsync(daemon, tracker, scenario, emulator, s3, "1% changed",
                new Minimum(Describe: Ceiling(active, 100), ListObjects: scenario.Outputs(s3, scenario.EndedIn(scenario.ToChange)), Submit: failed * size.Analyses));
            var completeAfter = complete / size.Workflows;
            var summaries = tracker.Summaries();
            result.Changed = changed with
            {
                Note = (mode == Mode.Events ? "with events the changes were taken in as they happened, before this pass; " : "") + $"{changedJobs:N0} jobs changed ({100.0 * changedJobs / size.Slots:F2}% of slots): {succeeded} succeeded, {failed} failed " +
                       $"and their chains resubmitted; complete now {summaries.Sum(s => s.Complete):N0} (expected {complete + succeeded:N0}), " +
                       $"active {summaries.Sum(s => s.Active):N0} (expected {active - succeeded:N0}); {changed.SnapshotBytesWritten:N0} snapshot bytes written",
            };
            Say(size, result.Changed.Describe());
            await QuietAsync(emulator);

            // A workflow file dropped into a project: how long until its first SubmitJob reaches Batch.
            for (var n = 1; n <= 3; n++)
            {
                var name = $"fresh{n}";
                var temp = Path.Combine(fresh, $".{name}.json.tmp");
                await File.WriteAllTextAsync(temp, Scenario.WorkflowText(name, 2));
                var dropped = DateTimeOffset.UtcNow;
                File.Move(temp, Path.Combine(fresh, name + ".json"));
                await emulator.WaitUntilAsync(jobs => jobs.Any(j => j.JobName.StartsWith($"bk-{name}-", StringComparison.Ordinal)), TimeSpan.FromMinutes(2));
                var first = emulator.Jobs.Where(j => j.JobName.StartsWith($"bk-{name}-", StringComparison.Ordinal)).Min(j => j.CreatedAt);
                result.FileToFirstSubmitMs.Add(Math.Round((first - dropped).TotalMilliseconds));
                await new SnapshotTracker([Path.Combine(fresh, name + ".json")]).WaitForAsync(s => s.Active + s.Complete == 20, TimeSpan.FromMinutes(2), () => daemon.HasExited);
                await QuietAsync(emulator);
            }

            Say(size, $"file to first SubmitJob: {string.Join(", ", result.FileToFirstSubmitMs.Select(ms => $"{ms} ms"))}");
            var (peak, current) = daemon.Memory();
            result.PeakRssMib = Math.Round(peak / 1048576.0);
            result.RssAtEndMib = Math.Round(current / 1048576.0);
            result.SnapshotMib = Math.Round(scenario.WorkflowFiles.Sum(f => new FileInfo(Path.ChangeExtension(f, ".status.json")).Length) / 1048576.0, 1);
            Say(size, $"daemon memory: peak {result.PeakRssMib} MiB, at the end {result.RssAtEndMib} MiB; snapshots {result.SnapshotMib} MiB on disk");
            summary = summary with { PeakRssMib = result.PeakRssMib };
        }

        if (!options.Keep)
        {
            Directory.Delete(root, recursive: true);
        }

        result.Mode = mode.ToString().ToLowerInvariant();
        return (result, summary!);
    }

    /// <summary>
    /// <c>--gcdump PATH</c>: the daemon's managed heap after the steady passes, by <c>dotnet-gcdump</c> (a dotnet tool:
    /// <c>dotnet tool install -g dotnet-gcdump</c>), to read with <c>dotnet-gcdump report</c>. A diagnostic, not a figure.
    /// </summary>
    private static async Task GcDumpAsync(int pid, string path, Action<string> say)
    {
        var start = new ProcessStartInfo("dotnet-gcdump") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "collect", "-p", pid.ToString(CultureInfo.InvariantCulture), "-o", path })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        say(process.ExitCode == 0 ? $"heap dump: {path}" : $"dotnet-gcdump failed ({process.ExitCode}): {output.Trim()}");
    }

    /// <summary>The Batch requests of a pass (not S3's, not SQS's).</summary>
    private static int BatchRequests(PassResult pass) => pass.Requests.Where(r => BatchOperations.IsKnown(r.Key)).Sum(r => r.Value);

    private static int Ceiling(long count, int per) => (int)((count + per - 1) / per);

    private static async Task<PassResult> RoundAsync(
        DaemonUnderTest daemon, SnapshotTracker tracker, Scenario scenario, Emulator emulator, MemoryS3 s3, string name, Minimum minimum)
    {
        var before = tracker.WriteTimes();
        var start = DateTimeOffset.UtcNow;
        daemon.ReconcileAll();
        var end = await tracker.WaitAllPassedAfterAsync(scenario.ProjectsDirectory, start, TimeSpan.FromMinutes(30), () => daemon.HasExited);
        return Measure(name, start, end, emulator, s3, minimum, "") with { SnapshotBytesWritten = tracker.BytesWrittenSince(before) };
    }

    private static PassResult Measure(string name, DateTimeOffset start, DateTimeOffset end, Emulator emulator, MemoryS3 s3, Minimum minimum, string note)
    {
        var batch = emulator.Requests.Where(r => r.ReceivedAt >= start && r.ReceivedAt <= end)
            .GroupBy(r => r.Operation, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var storage = s3.Count(start, end);
        var requests = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var (op, count) in batch.Concat(storage))
        {
            requests[op] = requests.GetValueOrDefault(op) + count;
        }

        var sqs = emulator.SqsRequests.Count(r => r.ReceivedAt >= start && r.ReceivedAt <= end);
        return new PassResult(name, Math.Round((end - start).TotalMilliseconds), requests, minimum, note) { SqsRequests = sqs };
    }

    /// <summary>Waits until Batch has had no request for a second, so that one pass's stragglers are not counted in the next.</summary>
    private static async Task QuietAsync(Emulator emulator)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromMinutes(2);
        while (DateTimeOffset.UtcNow < deadline)
        {
            var last = emulator.Requests.Count > 0 ? emulator.Requests[^1].ReceivedAt : DateTimeOffset.MinValue;
            if (DateTimeOffset.UtcNow - last > TimeSpan.FromSeconds(1) && emulator.RequestsInFlight == 0)
            {
                return;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException("Batch never went quiet between passes");
    }
}

public sealed class BenchmarkOptions
{
    public List<string> Sizes { get; init; } = ["goal"];
    public List<Mode> Modes { get; init; } = [Mode.Events, Mode.Adaptive, Mode.Shared];

    /// <summary>Other users' active jobs in the queue of <see cref="Mode.Shared"/>.</summary>
    public int Foreign { get; init; } = 20_000;
    public double LatencyMs { get; init; } = 20;
    public int Rps { get; init; } = 20;
    public int InFlight { get; init; } = 15;
    public double Changed { get; init; } = 0.01;
    public int Rounds { get; init; } = 3;
    public int PassConcurrency { get; init; }
    public string Output { get; init; } = "benchmark.json";

    /// <summary><c>--gcdump PATH</c>: where to write the daemon's heap dump after the steady passes (none by default).</summary>
    public string? GcDump { get; init; }

    /// <summary><c>--daemon-env NAME=VALUE</c> (repeatable): more environment for the daemon alone, e.g. a runtime setting to compare.</summary>
    public Dictionary<string, string> DaemonEnvironment { get; init; } = [];
    public bool Keep { get; init; }

    /// <summary><c>--spread last</c>: the samples in flight are the last ones; <c>even</c> (default): spread through the list.</summary>
    public bool InFlightLast { get; init; }

    public static BenchmarkOptions Parse(string[] args)
    {
        var sizes = new List<string> { "goal" };
        var modes = new List<Mode> { Mode.Events, Mode.Adaptive, Mode.Shared };
        var foreign = 20_000;
        double latency = 20, changed = 0.01;
        int rps = 20, inFlight = 15, rounds = 3, concurrency = 0;
        var output = "benchmark.json";
        var keep = false;
        string? gcdump = null;
        var daemonEnvironment = new Dictionary<string, string>(StringComparer.Ordinal);
        var last = false;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            double Number() => double.TryParse(Value(), CultureInfo.InvariantCulture, out var n) && n >= 0 ? n : throw new ArgumentException($"{args[i - 1]} needs a number ≥ 0");
            switch (args[i])
            {
                case "--sizes": sizes = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]; break;
                case "--modes": modes = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ModeSetup.Parse)]; break;
                case "--foreign": foreign = (int)Number(); break;
                case "--latency-ms": latency = Number(); break;
                case "--rps": rps = Math.Max(1, (int)Number()); break;
                case "--in-flight": inFlight = Math.Max(1, (int)Number()); break;
                case "--changed": changed = Number(); break;
                case "--rounds": rounds = Math.Max(1, (int)Number()); break;
                case "--pass-concurrency": concurrency = (int)Number(); break;
                case "--out": output = Value(); break;
                case "--keep": keep = true; break;
                case "--gcdump": gcdump = Value(); break;
                case "--daemon-env":
                    var pair = Value().Split('=', 2);
                    daemonEnvironment[pair[0]] = pair.Length == 2 ? pair[1] : throw new ArgumentException("--daemon-env is NAME=VALUE");
                    break;
                case "--spread":
                    last = Value() switch
                    {
                        "last" => true,
                        "even" => false,
                        _ => throw new ArgumentException("--spread is 'even' or 'last'"),
                    };
                    break;
                default: throw new ArgumentException($"unknown argument {args[i]}");
            }
        }

        return new BenchmarkOptions { Sizes = sizes, Modes = modes, Foreign = foreign, LatencyMs = latency, Rps = rps, InFlight = inFlight, Changed = changed, Rounds = rounds, PassConcurrency = concurrency, Output = output, Keep = keep, GcDump = gcdump, InFlightLast = last, DaemonEnvironment = daemonEnvironment };
    }
}

/// <summary>
/// The fewest requests a pass needs: ⌈active jobs / 100⌉ DescribeJobs; the fewest S3 requests that tell whether each
/// output to check exists (ListObjectsV2 pages of 1,000 keys started at the first key not yet covered, or a HeadObject
/// each where that is fewer), per workflow; a SubmitJob per new slot; and at start-up, with no snapshot to remember
/// jobs by, a ListJobs page per 100 of each workflow's jobs.
/// </summary>
public sealed record Minimum(int Describe, int ListObjects, int Submit, int ListJobs = 0)
{
    public int Total => Describe + ListObjects + Submit + ListJobs;
}

public sealed record PassResult(string Name, double WallMs, SortedDictionary<string, int> Requests, Minimum Minimum, string Note)
{
    /// <summary>Bytes of the snapshot files the pass wrote (each written file's size: a write replaces the whole file).</summary>
    public long SnapshotBytesWritten { get; init; }

    /// <summary>SQS requests (receives, deletes) in the span of the pass: not Batch's, not counted in <see cref="Total"/>.</summary>
    public int SqsRequests { get; init; }

    public int Total => Requests.Where(r => r.Key is not "PutObject").Sum(r => r.Value);

    public double Ratio => Minimum.Total == 0 ? (Total == 0 ? 1 : double.PositiveInfinity) : Math.Round((double)Total / Minimum.Total, 3);

    public string Describe() =>
        $"{Name}: {WallMs / 1000:F2} s, {Total} requests ({string.Join(", ", Requests.Where(r => r.Key is not "PutObject").Select(r => $"{r.Key} {r.Value}"))}), minimum {Minimum.Total}, ratio {Ratio:F2}{(Note.Length > 0 ? "; " + Note : "")}";
}

public sealed class SizeResult(string label, int workflows, int samples, int analyses, long slots, int inFlight)
{
    public string Label { get; } = label;
    public string Mode { get; set; } = "adaptive";
    public int Workflows { get; } = workflows;
    public int Samples { get; } = samples;
    public int Analyses { get; } = analyses;
    public long Slots { get; } = slots;
    public int InFlightPerWorkflow { get; } = inFlight;
    public bool InFlightLast { get; init; }
    public PassResult? Startup { get; set; }

    /// <summary>The daemon's CPU time when the start-up was seen done (read a moment after its last snapshot write).</summary>
    public double StartupCpuSeconds { get; set; }
    public List<PassResult> Steady { get; } = [];
    public PassResult? Changed { get; set; }
    public List<double> FileToFirstSubmitMs { get; } = [];
    public double PeakRssMib { get; set; }
    public double RssAtEndMib { get; set; }
    public double SnapshotMib { get; set; }

    /// <summary>The most snapshot bytes any steady pass wrote (goal: under 1 MB at the goal size).</summary>
    public long SnapshotBytesWrittenPerSteadyPass => Steady.Count == 0 ? 0 : Steady.Max(p => p.SnapshotBytesWritten);
}

internal static class Report
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static void PrintTable(IReadOnlyList<SizeResult> results)
    {
        Console.WriteLine();
        Console.WriteLine($"{"size/mode",-16} {"slots",10} {"pass",-16} {"wall s",7} {"Describe",8} {"ListJobs",8} {"Submit",6} {"S3 list",7} {"S3 head",7} {"total",6} {"min",6} {"ratio",6} {"snap MB",8}");
        foreach (var r in results)
        {
            foreach (var pass in new[] { r.Startup }.Concat(r.Steady).Append(r.Changed).OfType<PassResult>())
            {
                int Op(string name) => pass.Requests.GetValueOrDefault(name);
                Console.WriteLine($"{r.Label + "/" + r.Mode,-16} {r.Slots,10:N0} {pass.Name,-16} {pass.WallMs / 1000,7:F2} {Op("DescribeJobs"),8} {Op("ListJobs"),8} {Op("SubmitJob"),6} {Op("ListObjectsV2"),7} {Op("HeadObject"),7} {pass.Total,6} {pass.Minimum.Total,6} {pass.Ratio,6:F2} {pass.SnapshotBytesWritten / 1e6,8:F3}");
            }

            Console.WriteLine($"{r.Label + "/" + r.Mode,-16} {r.Slots,10:N0} peak RSS {r.PeakRssMib} MiB; file to first SubmitJob {string.Join(" / ", r.FileToFirstSubmitMs)} ms; snapshots {r.SnapshotMib} MiB; snapshot bytes written per steady pass {r.SnapshotBytesWrittenPerSteadyPass:N0}");
        }

        Console.WriteLine();
    }
}

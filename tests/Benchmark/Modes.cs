using System.Globalization;
using Batchkeeper.BatchEmulator;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Benchmark;

/// <summary>How the daemon learns job states in a run of the scenario.</summary>
public enum Mode
{
    /// <summary>Job-state events from an SQS queue (EventBridge's rule narrowed to the queue and the <c>bk-</c> names).</summary>
    Events,

    /// <summary>No queue: adaptive polling (ListJobs by status or DescribeJobs per queue), the queue ours alone.</summary>
    Adaptive,

    /// <summary>Adaptive polling in a queue shared with other users' active jobs (<c>--foreign</c>, 20,000 by default).</summary>
    Shared,
}

/// <summary>What the issue's goals are measured on, for one mode: steady passes' Batch requests against DescribeJobs' minimum and the peers'.</summary>
/// <param name="BatchRequestsPerSteadyPass">Batch requests of a steady pass (the most of the rounds), measured at the emulator.</param>
/// <param name="BatchRequestsPerSteadyRound">Each steady round's Batch requests, measured.</param>
/// <param name="DescribeMinimum">⌈our active jobs / 100⌉: DescribeJobs of every active job, the least a poller of ids needs.</param>
/// <param name="Goal">The most the issue allows, as a share of <paramref name="DescribeMinimum"/>.</param>
/// <param name="Peers">The requests the peers' documented strategies need for the same state, computed (not run).</param>
/// <param name="SqsRequestsPerSteadyPass">With events: SQS requests (receives, deletes) in the steady round with the most Batch requests.</param>
public sealed record ModeResult(
    string Mode,
    int BatchRequestsPerSteadyPass,
    IReadOnlyList<int> BatchRequestsPerSteadyRound,
    int DescribeMinimum,
    double Goal,
    Peers Peers,
    int SqsRequestsPerSteadyPass,
    long ActiveJobs,
    long ForeignActiveJobs,
    double StartupSeconds,
    double PeakRssMib)
{
    public double Ratio => DescribeMinimum == 0 ? 0 : Math.Round((double)BatchRequestsPerSteadyPass / DescribeMinimum, 3);

    public bool Met => Ratio <= Goal;
}

/// <summary>
/// Requests per steady pass of the peers' strategies for one state, computed from it: Nextflow describes every active
/// task, 100 ids a call; the Snakemake AWS Batch plugin describes one job per call; Cromwell lists each queue by each of
/// the five active statuses, 100 summaries a page (at least one page per status), other users' jobs included.
/// </summary>
public sealed record Peers(int Nextflow, int Snakemake, int Cromwell)
{
    public static IReadOnlyList<string> ActiveStatuses { get; } = ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"];

    /// <summary>From the emulator's jobs now: ours are those named <c>bk-…</c>; every active job of our queues counts for Cromwell.</summary>
    public static Peers Of(Emulator emulator)
    {
        var jobs = emulator.Jobs.Where(j => !j.IsFinal).ToList();
        var ours = jobs.Count(j => j.JobName.StartsWith("bk-", StringComparison.Ordinal));
        var queues = jobs.Where(j => j.JobName.StartsWith("bk-", StringComparison.Ordinal)).Select(j => j.JobQueue).Distinct(StringComparer.Ordinal).ToList();
        var cromwell = queues.Sum(q => ActiveStatuses.Sum(s => Math.Max(1, Pages(jobs.Count(j => j.JobQueue == q && j.Status == s), 100))));
        return new Peers(Pages(ours, 100), ours, cromwell);
    }

    public static int Pages(long count, int per) => (int)((count + per - 1) / per);
}

internal static class ModeSetup
{
    public const string EventsQueue = "bench-events";

    /// <summary>The goal of each mode, as a share of DescribeJobs' minimum.</summary>
    public static double Goal(Mode mode) => mode switch
    {
        Mode.Events => 0.05,
        Mode.Adaptive => 0.3,
        _ => 1.05,
    };

    public static Mode Parse(string text) => Enum.TryParse<Mode>(text, ignoreCase: true, out var mode)
        ? mode
        : throw new ArgumentException($"--modes: '{text}' is none of events, adaptive, shared");

    /// <summary>The emulator's events queue, fed as the README's rule would: our queue, <c>bk-</c> names.</summary>
    public static void Configure(BatchEmulatorOptions options, Mode mode)
    {
        if (mode == Mode.Events)
        {
            options.EventsQueue = EventsQueue;
            options.EventRule.JobQueues.Add(Scenario.Queue);
            options.EventRule.JobNamePrefix = "bk-";
        }
    }

    /// <summary>The daemon's settings of the mode: with events, the queue, and a resync that does not fall within the run.</summary>
    public static Dictionary<string, string> Daemon(Mode mode, Emulator emulator) => mode != Mode.Events ? [] : new()
    {
        ["Batchkeeper__Aws__EventsQueueUrl"] = emulator.EventsQueueUrl!,
        ["Batchkeeper__Aws__SqsServiceUrl"] = emulator.BaseAddress.ToString(),
        ["Batchkeeper__Aws__EventsResyncInterval"] = "01:00:00",
    };

    public static void PrintTable(IReadOnlyList<(string Size, ModeResult Result)> results)
    {
        Console.WriteLine($"{"size",-7} {"mode",-9} {"active",7} {"foreign",7} {"Batch/steady pass",17} {"describe min",12} {"ratio",6} {"goal",6} {"met",4} {"Nextflow",8} {"Snakemake",9} {"Cromwell",8}");
        foreach (var (size, r) in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{size,-7} {r.Mode,-9} {r.ActiveJobs,7} {r.ForeignActiveJobs,7} {r.BatchRequestsPerSteadyPass,17} {r.DescribeMinimum,12} {r.Ratio,6:F2} {r.Goal,6:F2} {(r.Met ? "yes" : "NO"),4} {r.Peers.Nextflow,8} {r.Peers.Snakemake,9} {r.Peers.Cromwell,8}"));
        }

        Console.WriteLine("Batch/steady pass is measured (the most of the steady rounds); Nextflow, Snakemake and Cromwell are computed for the same state.");
        Console.WriteLine();
    }
}

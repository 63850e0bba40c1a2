using System.Diagnostics;

namespace Batchkeeper.Daemon.Local;

/// <summary>
/// The processes of local jobs: starts a job's supervisor (<see cref="JobProcess"/>), watches this daemon's children,
/// tracks the ones adopted from a daemon that was killed, and kills a job's whole process group. Used under
/// <see cref="LocalJobStore.Gate"/>; it keeps no job state of its own beyond which jobs have a live process.
/// </summary>
public sealed class LocalProcessRunner
{
    private readonly Dictionary<string, RunningJob> _running = new(StringComparer.Ordinal);

    /// <summary>Jobs with a live process, adopted ones included: what counts against <see cref="Hosting.LocalOptions.MaxConcurrentJobs"/>.</summary>
    public int Count => _running.Count;

    public IReadOnlyList<string> RunningJobIds => [.. _running.Keys];

    /// <summary>
    /// Starts the supervisor of <paramref name="record"/>, held before it runs the command (see
    /// <see cref="JobProcess.SupervisorScript"/>) until <see cref="Release"/>: the record names the process first.
    /// </summary>
    /// <exception cref="IOException">The folder or the program does not exist, or the process ended at once.</exception>
    public static (Process Process, long StartTime) Launch(LocalJobRecord record, string exitCodePath)
    {
        var context = record.Context;
        var environment = new Dictionary<string, string>(record.Environment)
        {
            ["AWS_BATCH_JOB_ID"] = record.JobId,
            ["AWS_BATCH_JQ_NAME"] = record.Queue,
            ["BATCHKEEPER_PROJECT"] = context.Project,
            ["BATCHKEEPER_WORKFLOW"] = context.Workflow,
            ["BATCHKEEPER_SAMPLE"] = context.Sample,
            ["BATCHKEEPER_ANALYSIS"] = context.Analysis,
        };

        CheckRunnable(record);
        var process = JobProcess.Start(exitCodePath, record.LogPath, record.Command, record.WorkingDirectory, environment);
        var startTime = JobProcess.StartTime(process.Id) ?? throw new InvalidOperationException("the process ended at once");
        return (process, startTime);
    }

    /// <summary>Lets a launched supervisor run the command; <paramref name="exited"/> is called (outside the gate) when it ends.</summary>
    public void Release(string jobId, Process process, long startTime, Action<string, object> exited)
    {
        var job = new RunningJob(process.Id, startTime, process);
        _running[jobId] = job;
        JobProcess.Release(process);
        _ = WatchAsync(jobId, job, exited);
    }

    /// <summary>Tracks a supervisor that outlived the previous daemon: watched by polling, never started again.</summary>
    public void Adopt(string jobId, int pid, long startTime) => _running[jobId] = new RunningJob(pid, startTime, Child: null);

    /// <summary>True when <paramref name="watch"/> (from <see cref="Release"/>'s callback) is still the job's process.</summary>
    public bool IsCurrent(string jobId, object watch) => _running.TryGetValue(jobId, out var current) && ReferenceEquals(current, watch);

    /// <summary>Adopted jobs whose process has ended (no exit event reaches this daemon for them).</summary>
    public IReadOnlyList<string> EndedAdopted() =>
        [.. _running.Where(kv => kv.Value.Child is null && !JobProcess.IsAlive(kv.Value.Pid, kv.Value.StartTime)).Select(kv => kv.Key)];

    /// <summary>Kills the job's whole process group, if it has one; it stays tracked until its process is seen gone.</summary>
    public void Kill(string jobId)
    {
        if (_running.TryGetValue(jobId, out var job))
        {
            JobProcess.KillGroup(job.Pid, job.StartTime);
        }
    }

    public void Forget(string jobId) => _running.Remove(jobId);

    /// <summary>
    /// Replaces each <c>Ref::name</c> with the longest parameter name that matches, in one left-to-right pass: a
    /// parameter's value is placed as it is, never searched for <c>Ref::</c> again.
    /// </summary>
    public static string SubstituteParameters(string argument, IReadOnlyDictionary<string, string> parameters)
    {
        const string marker = "Ref::";
        if (!argument.Contains(marker, StringComparison.Ordinal))
        {
            return argument;
        }

        var result = new System.Text.StringBuilder(argument.Length);
        var position = 0;
        for (var at = argument.IndexOf(marker, StringComparison.Ordinal); at >= 0; at = argument.IndexOf(marker, position, StringComparison.Ordinal))
        {
            var start = at + marker.Length;
            var name = parameters.Keys
                .Where(k => k.Length > 0 && string.CompareOrdinal(argument, start, k, 0, k.Length) == 0)
                .MaxBy(k => k.Length);
            if (name is null)
            {
                result.Append(argument, position, start - position);
                position = start;
                continue;
            }

            result.Append(argument, position, at - position).Append(parameters[name]);
            position = start + name.Length;
        }

        return result.Append(argument, position, argument.Length - position).ToString();
    }

    /// <summary>What Process.Start would have refused before the supervisor existed: a missing folder or program.</summary>
    private static void CheckRunnable(LocalJobRecord record)
    {
        if (!Directory.Exists(record.WorkingDirectory))
        {
            throw new IOException($"the folder {record.WorkingDirectory} does not exist");
        }

        var program = record.Command[0];
        var candidates = program.Contains('/', StringComparison.Ordinal)
            ? [Path.Combine(record.WorkingDirectory, program)]
            : (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries).Select(d => Path.Combine(d, program));
        if (!candidates.Any(File.Exists))
        {
            throw new IOException("No such file or directory");
        }
    }

    /// <summary>Waits for this daemon's own child to end.</summary>
    private static async Task WatchAsync(string jobId, RunningJob job, Action<string, object> exited)
    {
        await job.Child!.WaitForExitAsync();
        job.Child.Dispose();
        exited(jobId, job);
    }

    /// <summary>A job whose supervisor runs: this daemon's child, or adopted from a daemon that was killed (no Child).</summary>
    private sealed record RunningJob(int Pid, long StartTime, Process? Child);
}

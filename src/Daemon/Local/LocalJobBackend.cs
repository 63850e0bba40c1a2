using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Reconciliation;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Snapshots;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Local;

/// <summary>
/// Runs jobs as local processes with Batch's state machine: SUBMITTED, PENDING until every job it depends
/// on SUCCEEDED (FAILED with "Dependent Job failed" if one failed), RUNNABLE until a slot is free
/// (<see cref="LocalOptions.MaxConcurrentJobs"/>), RUNNING, then SUCCEEDED or FAILED by exit code.
/// The command runs in the project folder; <c>Ref::name</c> in it is replaced by the parameter, as Batch does.
/// Every record is written to disk before it is acted on, so a restart loses nothing: queued jobs carry on,
/// and jobs whose process died with the daemon are reported FAILED as interrupted (resubmitted for free).
/// </summary>
public sealed class LocalJobBackend : BackgroundService, IJobBackend, IJobEvents
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly object _gate = new();
    private readonly Dictionary<string, LocalJobRecord> _jobs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RunningJob> _running = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _wake = new(0);
    private readonly LocalOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<LocalJobBackend> _logger;
    private readonly string _jobsDirectory;
    private readonly string _logsDirectory;

    public LocalJobBackend(IOptions<BatchkeeperOptions> options, TimeProvider clock, ILogger<LocalJobBackend> logger)
    {
        _options = options.Value.Local;
        _clock = clock;
        _logger = logger;
        var root = Path.GetFullPath(_options.WorkDirectory);
        _jobsDirectory = Path.Combine(root, "jobs");
        _logsDirectory = Path.Combine(root, "logs");
        Directory.CreateDirectory(_jobsDirectory);
        Directory.CreateDirectory(_logsDirectory);
    }

    public string Name => "Local";

    /// <summary>Raised (outside the backend's lock) when a job reaches SUCCEEDED or FAILED.</summary>
    public event Action<JobContext>? JobFinished;

    public Task<string> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken)
    {
        if (submission.Job.Command is not { Count: > 0 } command)
        {
            throw new JobRejectedException(
                $"the local backend runs an analysis's 'command', and analysis '{submission.Context.Analysis}' has none");
        }

        var id = Guid.NewGuid().ToString();
        var record = new LocalJobRecord
        {
            JobId = id,
            JobName = submission.JobName,
            Queue = submission.Job.Queue,
            JobDefinition = submission.Job.JobDefinition,
            Command = command.Select(arg => SubstituteParameters(arg, submission.Job.Parameters)).ToList(),
            Environment = new Dictionary<string, string>(submission.Job.Environment),
            DependsOn = [.. submission.DependsOn],
            WorkingDirectory = submission.WorkingDirectory,
            TimeoutSeconds = submission.Job.TimeoutSeconds,
            Vcpus = submission.Job.Vcpus,
            MemoryMiB = submission.Job.MemoryMiB,
            Context = submission.Context,
            Status = JobStatus.Submitted,
            CreatedAt = _clock.GetUtcNow(),
            LogPath = Path.Combine(_logsDirectory, id + ".log"),
        };

        lock (_gate)
        {
            Persist(record);
            _jobs[id] = record;
        }

        _wake.Release();
        return Task.FromResult(id);
    }

    public Task<IReadOnlyList<JobDetail>> DescribeAsync(IReadOnlyCollection<string> jobIds, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<JobDetail> details = jobIds.Where(_jobs.ContainsKey).Select(id => _jobs[id].ToDetail()).ToArray();
            return Task.FromResult(details);
        }
    }

    public Task<IReadOnlyList<JobSummary>> ListByNamePrefixAsync(string queue, string namePrefix, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<JobSummary> jobs = _jobs.Values
                .Where(j => j.Queue == queue && j.JobName.StartsWith(namePrefix, StringComparison.Ordinal))
                .Select(j => new JobSummary(j.JobId, j.JobName, j.Status, j.CreatedAt))
                .ToArray();
            return Task.FromResult(jobs);
        }
    }

    public Task TerminateAsync(string jobId, string reason, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_jobs.TryGetValue(jobId, out var record) && record.Status.IsActive())
            {
                // The process first, the record after: a daemon killed in between leaves a RUNNING record of a dead
                // process (interrupted at the next start), never a finished record of a live one.
                if (_running.TryGetValue(jobId, out var job))
                {
                    JobProcess.KillGroup(job.Pid, job.StartTime);
                }

                Finish(record, JobStatus.Failed, reason, exitCode: null);
            }
        }

        _wake.Release();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Reads the records before anything runs: queued jobs carry on; a job whose supervisor is still alive (same PID,
    /// same start time) is adopted and counts against <see cref="LocalOptions.MaxConcurrentJobs"/>; one that ended while
    /// no daemon watched gets the exit code its supervisor wrote; any other is reported interrupted.
    /// </summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            LoadRecords();
        }

        return base.StartAsync(cancellationToken);
    }

    /// <summary>Moves jobs along their state machine whenever something changes, and at least every second.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                Advance();
                await _wake.WaitAsync(TimeSpan.FromSeconds(1), stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Clean stop.
        }
    }

    /// <summary>
    /// At shutdown, running jobs are stopped (their whole process group) and reported as interrupted, so that the next
    /// start resubmits them without using an attempt instead of leaving processes nobody watches.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        lock (_gate)
        {
            foreach (var (id, job) in _running.ToArray())
            {
                JobProcess.KillGroup(job.Pid, job.StartTime);
                if (_jobs.TryGetValue(id, out var record) && record.Status.IsActive())
                {
                    Finish(record, JobStatus.Failed, FailureClassifier.LocalInterruptedReason, exitCode: null);
                    Log.LocalJobInterrupted(_logger, id, record.Context.Project, record.Context.Workflow, record.Context.Sample, record.Context.Analysis);
                }
            }

            _running.Clear();
        }
    }

    private void Advance()
    {
        lock (_gate)
        {
            var now = _clock.GetUtcNow();
            foreach (var (id, job) in _running.ToArray())
            {
                var record = _jobs[id];
                if (job.Child is null && !JobProcess.IsAlive(job.Pid, job.StartTime))
                {
                    // An adopted job (not this daemon's child: no exit event) has ended.
                    Exited(record);
                }
                else if (record.Status == JobStatus.Running && record.TimeoutSeconds is { } seconds && record.StartedAt is { } started
                    && now - started >= TimeSpan.FromSeconds(seconds))
                {
                    // Batch's timeout: the job is killed (SIGKILL, hence 137) and FAILED with this reason; it stays counted
                    // against the limit until its process is seen gone.
                    JobProcess.KillGroup(job.Pid, job.StartTime);
                    Finish(record, JobStatus.Failed, FailureClassifier.TimeoutReason, exitCode: 137);
                    Log.LocalJobTimedOut(_logger, id, record.Context.Project, record.Context.Workflow, record.Context.Sample, record.Context.Analysis, seconds);
                }
            }

            foreach (var record in _jobs.Values.Where(j => j.Status is JobStatus.Submitted or JobStatus.Pending).OrderBy(j => j.CreatedAt))
            {
                var dependencies = record.DependsOn.Select(id => _jobs.GetValueOrDefault(id)).ToArray();
                if (dependencies.Any(d => d is null || d.Status == JobStatus.Failed))
                {
                    Finish(record, JobStatus.Failed, "Dependent Job failed", exitCode: null);
                }
                else if (dependencies.All(d => d!.Status == JobStatus.Succeeded))
                {
                    SetStatus(record, JobStatus.Runnable);
                }
                else if (record.Status == JobStatus.Submitted)
                {
                    SetStatus(record, JobStatus.Pending);
                }
            }

            foreach (var record in _jobs.Values.Where(j => j.Status == JobStatus.Runnable).OrderBy(j => j.CreatedAt).ToArray())
            {
                if (_running.Count >= _options.MaxConcurrentJobs)
                {
                    break;
                }

                Start(record);
            }
        }
    }

    private void Start(LocalJobRecord record)
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

        SetStatus(record, JobStatus.Starting);
        Process process;
        long? startTime;
        try
        {
            CheckRunnable(record);
            process = JobProcess.Start(ExitCodePath(record.JobId), record.LogPath, record.Command, record.WorkingDirectory, environment);
            startTime = JobProcess.StartTime(process.Id) ?? throw new InvalidOperationException("the process ended at once");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            // Batch says CannotStartContainerError when the command cannot run; the same is true here.
            record.ContainerReason = $"CannotStartContainerError: {e.Message}";
            Finish(record, JobStatus.Failed, $"CannotStartContainerError: cannot run '{record.Command[0]}' in {record.WorkingDirectory}: {e.Message}", exitCode: null);
            Log.LocalJobStartFailed(_logger, record.JobId, context.Project, context.Workflow, context.Sample, context.Analysis, e.Message);
            return;
        }

        // The record names the process before the command may run (see JobProcess.SupervisorScript).
        record.Pid = process.Id;
        record.ProcessStartTime = startTime;
        record.StartedAt = _clock.GetUtcNow();
        SetStatus(record, JobStatus.Running);
        var job = new RunningJob(process.Id, startTime.Value, process);
        _running[record.JobId] = job;
        JobProcess.Release(process);
        Log.LocalJobStarted(_logger, record.JobId, context.Project, context.Workflow, context.Sample, context.Analysis, string.Join(' ', record.Command), record.LogPath);
        _ = WatchAsync(record, job);
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
    private async Task WatchAsync(LocalJobRecord record, RunningJob job)
    {
        await job.Child!.WaitForExitAsync();
        job.Child.Dispose();
        lock (_gate)
        {
            if (_running.TryGetValue(record.JobId, out var current) && current == job)
            {
                Exited(record);
            }
        }

        _wake.Release();
    }

    /// <summary>
    /// A job's supervisor has ended: the exit code it wrote decides; without one, the job was lost with its process:
    /// interrupted. Under <see cref="_gate"/>.
    /// </summary>
    private void Exited(LocalJobRecord record)
    {
        _running.Remove(record.JobId);
        if (record.Status != JobStatus.Running)
        {
            return; // terminated, timed out or stopped: already recorded
        }

        var context = record.Context;

        // Only the exit code the supervisor wrote is the command's result. Without one the supervisor never ran the
        // command (125), or it was killed or signalled with its job's group (the stop of the daemon or the service, a
        // reboot): the job was lost with its process, not failed.
        if (JobProcess.ReadExitCode(ExitCodePath(record.JobId)) is not { } exit)
        {
            Finish(record, JobStatus.Failed, FailureClassifier.LocalInterruptedReason, exitCode: null);
            Log.LocalJobInterrupted(_logger, record.JobId, context.Project, context.Workflow, context.Sample, context.Analysis);
            return;
        }

        Log.LocalJobExited(_logger, record.JobId, context.Project, context.Workflow, context.Sample, context.Analysis, exit);
        Finish(record, exit == 0 ? JobStatus.Succeeded : JobStatus.Failed, "Essential container in task exited", exit);
    }

    private string ExitCodePath(string jobId) => Path.Combine(_jobsDirectory, jobId + ".exitcode");

    /// <summary>
    /// Replaces each <c>Ref::name</c> with the longest parameter name that matches, in one left-to-right pass: a
    /// parameter's value is placed as it is, never searched for <c>Ref::</c> again.
    /// </summary>
    private static string SubstituteParameters(string argument, IReadOnlyDictionary<string, string> parameters)
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

    private void SetStatus(LocalJobRecord record, JobStatus status)
    {
        record.Status = status;
        Persist(record);
    }

    private void Finish(LocalJobRecord record, JobStatus status, string reason, int? exitCode)
    {
        record.Status = status;
        record.StatusReason = reason;
        record.ExitCode = exitCode;
        record.StoppedAt = _clock.GetUtcNow();
        Persist(record);
        var context = record.Context;
        ThreadPool.QueueUserWorkItem(_ => JobFinished?.Invoke(context));
    }

    private void Persist(LocalJobRecord record)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(record, JsonOptions);
        AtomicFile.Write(Path.Combine(_jobsDirectory, record.JobId + ".json"), bytes);
    }

    private void LoadRecords()
    {
        foreach (var path in Directory.EnumerateFiles(_jobsDirectory, "*.json"))
        {
            LocalJobRecord? record;
            try
            {
                // The daemon's one rule for reading files: a regular file inside the jobs folder, capped, with a deadline.
                record = JsonSerializer.Deserialize<LocalJobRecord>(
                    Files.ProjectFile.Read(path, _jobsDirectory, Path.GetFileName(path), LocalJobRecord.MaxBytes), JsonOptions);
            }
            catch (JsonException e)
            {
                Log.LocalRecordUnreadable(_logger, path, $"not a job record (at {e.Path ?? "$"}, line {(e.LineNumber ?? 0) + 1})");
                continue;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Log.LocalRecordUnreadable(_logger, path, e.Message);
                continue;
            }
            catch (Core.Workflows.InputException e)
            {
                Log.LocalRecordUnreadable(_logger, path, string.Join("; ", e.Errors.Select(error => error.Message)));
                continue;
            }

            if (record is null || LocalJobRecord.Problem(record, Path.GetFileNameWithoutExtension(path)) is { } problem)
            {
                Log.LocalRecordUnreadable(_logger, path, record is null ? "not a job record (null)" : LocalJobRecord.Problem(record, Path.GetFileNameWithoutExtension(path))!);
                continue;
            }

            _jobs[record.JobId] = record;
            if (record.Status == JobStatus.Running && record.Pid is { } pid && record.ProcessStartTime is { } startTime)
            {
                if (JobProcess.IsAlive(pid, startTime))
                {
                    // Still running under its supervisor, which outlived the previous daemon: watch it, never start a copy.
                    _running[record.JobId] = new RunningJob(pid, startTime, Child: null);
                    Log.LocalJobAdopted(_logger, record.JobId, record.Context.Project, record.Context.Workflow, record.Context.Sample, record.Context.Analysis, pid);
                }
                else
                {
                    Exited(record);
                }
            }
            else if (record.Status is JobStatus.Starting or JobStatus.Running)
            {
                // Never released to run its command (the supervisor exits by itself): say so, rather than pretend it runs.
                Finish(record, JobStatus.Failed, FailureClassifier.LocalInterruptedReason, exitCode: null);
                Log.LocalJobInterrupted(_logger, record.JobId, record.Context.Project, record.Context.Workflow, record.Context.Sample, record.Context.Analysis);
            }
        }
    }

    /// <summary>A job whose supervisor runs: this daemon's child, or adopted from a daemon that was killed (no Child).</summary>
    private sealed record RunningJob(int Pid, long StartTime, Process? Child);
}

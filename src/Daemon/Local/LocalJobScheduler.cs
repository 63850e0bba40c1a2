using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Reconciliation;
using Batchkeeper.Daemon.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Local;

/// <summary>
/// Moves local jobs through Batch's state machine: SUBMITTED, PENDING until every job it depends on SUCCEEDED
/// (FAILED with "Dependent Job failed" if one failed), RUNNABLE until a slot is free
/// (<see cref="LocalOptions.MaxConcurrentJobs"/>), RUNNING, then SUCCEEDED or FAILED by exit code; Batch's timeout.
/// It runs whenever something changes, and at least every second on <see cref="TimeProvider"/>.
/// </summary>
public sealed class LocalJobScheduler : BackgroundService
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);

    /// <summary>The status reason of a job whose command ended by itself, with its exit code beside it.</summary>
    public const string CommandExitedReason = "Command exited";

    private readonly SemaphoreSlim _wake = new(0);
    private readonly LocalJobStore _store;
    private readonly LocalProcessRunner _runner;
    private readonly LocalOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<LocalJobScheduler> _logger;

    public LocalJobScheduler(LocalJobStore store, LocalProcessRunner runner, IOptions<BatchkeeperOptions> options, TimeProvider clock, ILogger<LocalJobScheduler> logger)
    {
        _store = store;
        _runner = runner;
        _options = options.Value.Local;
        _clock = clock;
        _logger = logger;
    }

    /// <summary>Raised (outside the lock) when a job is RUNNING: its command has been let run.</summary>
    public event Action<JobContext>? JobStarted;

    /// <summary>Raised (outside the lock) when a job reaches SUCCEEDED or FAILED.</summary>
    public event Action<JobContext>? JobFinished;

    /// <summary>Something changed (a submission, a termination, a process ended): advance now, not at the next tick.</summary>
    public void Wake() => _wake.Release();

    /// <summary>Stops a job in any active state: the process first, the record after. Under the store's gate.</summary>
    public void Terminate(LocalJobRecord record, string reason)
    {
        // A daemon killed in between leaves a RUNNING record of a dead process (interrupted at the next start), never a
        // finished record of a live one.
        _runner.Kill(record.JobId);
        Finish(record, JobStatus.Failed, reason, exitCode: null);
    }

    /// <summary>
    /// Reads the records before anything runs: queued jobs carry on; a job whose supervisor is still alive (same PID,
    /// same start time) is adopted and counts against <see cref="LocalOptions.MaxConcurrentJobs"/>; one that ended while
    /// no daemon watched gets the exit code its supervisor wrote; any other is reported interrupted.
    /// </summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_store.Gate)
        {
            foreach (var record in _store.Load())
            {
                Recover(record);
            }
        }

        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // One wait on the semaphore is kept across ticks: a wait abandoned at a tick would swallow the next Wake().
        Task? woken = null;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                Advance();
                woken ??= _wake.WaitAsync(stoppingToken);
                await Task.WhenAny(woken, Task.Delay(Tick, _clock, stoppingToken));
                stoppingToken.ThrowIfCancellationRequested();
                if (woken.IsCompleted)
                {
                    woken = null;
                }
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
        lock (_store.Gate)
        {
            foreach (var id in _runner.RunningJobIds)
            {
                _runner.Kill(id);
                _runner.Forget(id);
                if (_store.Find(id) is { } record && record.Status.IsActive())
                {
                    Finish(record, JobStatus.Failed, FailureClassifier.LocalInterruptedReason, exitCode: null);
                    Log.LocalJobInterrupted(_logger, id, record.Context.Project, record.Context.Workflow, record.Context.Sample, record.Context.Analysis);
                }
            }
        }
    }

    private void Recover(LocalJobRecord record)
    {
        var context = record.Context;
        if (record.Status == JobStatus.Running && record.Pid is { } pid && record.ProcessStartTime is { } startTime)
        {
            if (JobProcess.IsAlive(pid, startTime))
            {
                // Still running under its supervisor, which outlived the previous daemon: watch it, never start a copy.
                _runner.Adopt(record.JobId, pid, startTime);
                Log.LocalJobAdopted(_logger, record.JobId, context.Project, context.Workflow, context.Sample, context.Analysis, pid);
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
            Log.LocalJobInterrupted(_logger, record.JobId, context.Project, context.Workflow, context.Sample, context.Analysis);
        }
    }

    private void Advance()
    {
        lock (_store.Gate)
        {
            foreach (var id in _runner.EndedAdopted())
            {
                Exited(_store.Find(id)!);
            }

            var now = _clock.GetUtcNow();
            foreach (var id in _runner.RunningJobIds)
            {
                var record = _store.Find(id)!;
                if (record.Status == JobStatus.Running && record.TimeoutSeconds is { } seconds && record.StartedAt is { } started
                    && now - started >= TimeSpan.FromSeconds(seconds))
                {
                    // Batch's timeout: the job is killed (SIGKILL, hence 137) and FAILED with this reason; it stays counted
                    // against the limit until its process is seen gone.
                    _runner.Kill(id);
                    Finish(record, JobStatus.Failed, FailureClassifier.TimeoutReason, exitCode: 137);
                    Log.LocalJobTimedOut(_logger, id, record.Context.Project, record.Context.Workflow, record.Context.Sample, record.Context.Analysis, seconds);
                }
            }

            foreach (var record in _store.All.Where(j => j.Status is JobStatus.Submitted or JobStatus.Pending).OrderBy(j => j.CreatedAt).ToArray())
            {
                var dependencies = record.DependsOn.Select(_store.Find).ToArray();
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

            foreach (var record in _store.All.Where(j => j.Status == JobStatus.Runnable).OrderBy(j => j.CreatedAt).ToArray())
            {
                if (_runner.Count >= _options.MaxConcurrentJobs)
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
        SetStatus(record, JobStatus.Starting);
        System.Diagnostics.Process process;
        long startTime;
        try
        {
            (process, startTime) = LocalProcessRunner.Launch(record, _store.ExitCodePathFor(record.JobId));
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
        _runner.Release(record.JobId, process, startTime, ChildExited);
        ThreadPool.QueueUserWorkItem(_ => JobStarted?.Invoke(context));
        Log.LocalJobStarted(_logger, record.JobId, context.Project, context.Workflow, context.Sample, context.Analysis, string.Join(' ', record.Command), record.LogPath);
    }

    private void ChildExited(string jobId, object watch)
    {
        lock (_store.Gate)
        {
            if (_runner.IsCurrent(jobId, watch))
            {
                Exited(_store.Find(jobId)!);
            }
        }

        Wake();
    }

    /// <summary>
    /// A job's supervisor has ended: the exit code it wrote decides; without one, the job was lost with its process:
    /// interrupted. Under the store's gate.
    /// </summary>
    private void Exited(LocalJobRecord record)
    {
        _runner.Forget(record.JobId);
        if (record.Status != JobStatus.Running)
        {
            return; // terminated, timed out or stopped: already recorded
        }

        var context = record.Context;

        // Only the exit code the supervisor wrote is the command's result. Without one the supervisor never ran the
        // command (125), or it was killed or signalled with its job's group (the stop of the daemon or the service, a
        // reboot): the job was lost with its process, not failed.
        if (JobProcess.ReadExitCode(_store.ExitCodePathFor(record.JobId)) is not { } exit)
        {
            Finish(record, JobStatus.Failed, FailureClassifier.LocalInterruptedReason, exitCode: null);
            Log.LocalJobInterrupted(_logger, record.JobId, context.Project, context.Workflow, context.Sample, context.Analysis);
            return;
        }

        Log.LocalJobExited(_logger, record.JobId, context.Project, context.Workflow, context.Sample, context.Analysis, exit);
        // Batch says "Essential container in task exited"; here there is no container, only the command.
        Finish(record, exit == 0 ? JobStatus.Succeeded : JobStatus.Failed, CommandExitedReason, exit);
    }

    private void SetStatus(LocalJobRecord record, JobStatus status)
    {
        record.Status = status;
        _store.Persist(record);
    }

    private void Finish(LocalJobRecord record, JobStatus status, string reason, int? exitCode)
    {
        record.Status = status;
        record.StatusReason = reason;
        record.ExitCode = exitCode;
        record.StoppedAt = _clock.GetUtcNow();
        _store.Persist(record);
        var context = record.Context;
        ThreadPool.QueueUserWorkItem(_ => JobFinished?.Invoke(context));
    }

    public override void Dispose()
    {
        base.Dispose();
        _wake.Dispose();
    }
}

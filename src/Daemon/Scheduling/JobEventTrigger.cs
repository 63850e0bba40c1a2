using Batchkeeper.Core.Ports;
using Microsoft.Extensions.Hosting;

namespace Batchkeeper.Daemon.Scheduling;

/// <summary>
/// When the backend says a job finished (the local backend can; Batch cannot), reconciles its workflow at once:
/// the next analysis starts without waiting for the next scheduled pass.
/// </summary>
public sealed class JobEventTrigger(IJobBackend backend, WorkflowScheduler scheduler) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (backend is IJobEvents events)
        {
            events.JobFinished += OnJobFinished;
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (backend is IJobEvents events)
        {
            events.JobFinished -= OnJobFinished;
        }

        return Task.CompletedTask;
    }

    private void OnJobFinished(JobContext context)
    {
        if (context.WorkflowFile.Length > 0)
        {
            _ = scheduler.TriggerIfManagedAsync(context.WorkflowFile, CancellationToken.None);
        }
    }
}

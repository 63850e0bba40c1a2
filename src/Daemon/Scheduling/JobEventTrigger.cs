using Batchkeeper.Core.Ports;
using Microsoft.Extensions.Hosting;

namespace Batchkeeper.Daemon.Scheduling;

/// <summary>
/// When the backend says a job started or finished (the local backend can; Batch cannot), reconciles its workflow at
/// once: its snapshot shows the job running within moments of its start (a short job can be followed with
/// <c>logs --follow</c>), and the next analysis starts without waiting for the next scheduled pass.
/// </summary>
public sealed class JobEventTrigger(IJobBackend backend, WorkflowScheduler scheduler) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (backend is IJobEvents events)
        {
            events.JobStarted += OnJobEvent;
            events.JobFinished += OnJobEvent;
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (backend is IJobEvents events)
        {
            events.JobStarted -= OnJobEvent;
            events.JobFinished -= OnJobEvent;
        }

        return Task.CompletedTask;
    }

    private void OnJobEvent(JobContext context)
    {
        if (context.WorkflowFile.Length > 0)
        {
            _ = scheduler.TriggerIfManagedAsync(context.WorkflowFile, CancellationToken.None);
        }
    }
}

using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Registry;
using Batchkeeper.Daemon.Scheduling;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Quartz;

namespace Batchkeeper.Daemon.Tests.Scheduling;

/// <summary>The scheduler as a reader of the registry's feed, against a real Quartz scheduler (in standby: no pass runs).</summary>
public sealed class WorkflowSchedulerFeedTests
{
    [Fact]
    public async Task AddedMakesTheWorkflowsJob_RemovedDeletesIt_AndProcessedThroughWaitsForBoth()
    {
        await using var services = new ServiceCollection()
            .AddQuartz()
            .BuildServiceProvider();
        var factory = services.GetRequiredService<ISchedulerFactory>();
        var quartz = await factory.GetScheduler();
        var registry = new WorkflowRegistry();
        // Added before the scheduler exists: the replay brings them.
        registry.Add("/projects/study/a.json");
        registry.Add("/projects/study/b.json");
        var scheduler = new WorkflowScheduler(
            factory, registry, Options.Create(new BatchkeeperOptions()), TimeProvider.System, NullLogger<WorkflowScheduler>.Instance);
        await scheduler.StartAsync(CancellationToken.None);
        try
        {
            await scheduler.ProcessedThroughAsync(registry.Sequence, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(await quartz.Exists(new JobKey("/projects/study/a.json", "workflows")));
            Assert.True(await quartz.Exists(new JobKey("/projects/study/b.json", "workflows")));

            registry.Remove("/projects/study/a.json");
            await scheduler.ProcessedThroughAsync(registry.Sequence, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.False(await quartz.Exists(new JobKey("/projects/study/a.json", "workflows")));
            Assert.True(await quartz.Exists(new JobKey("/projects/study/b.json", "workflows")));

            // A trigger for a workflow no longer managed does nothing (and does not throw).
            await scheduler.TriggerIfManagedAsync("/projects/study/a.json", CancellationToken.None);
            await scheduler.TriggerNowAsync("/projects/study/a.json", CancellationToken.None);
            Assert.False(await quartz.Exists(new JobKey("/projects/study/a.json", "workflows")));
        }
        finally
        {
            await scheduler.StopAsync(CancellationToken.None);
            await quartz.Shutdown(waitForJobsToComplete: false);
        }
    }
    [Fact]
    public async Task PassLeavingASlotRetrying_SchedulesAPassAtItsNextAttempt_MovesItWithTheEarliest_AndRemovesItOnceNoneIsDue()
    {
        // Issue 16, item 14: a 5 s backoff waited for the next scheduled pass (about 30 s).
        await using var services = new ServiceCollection().AddQuartz().BuildServiceProvider();
        var factory = services.GetRequiredService<ISchedulerFactory>();
        var quartz = await factory.GetScheduler();
        var registry = new WorkflowRegistry();
        const string path = "/projects/study/a.json";
        registry.Add(path);
        var scheduler = new WorkflowScheduler(
            factory, registry, Options.Create(new BatchkeeperOptions()), TimeProvider.System, NullLogger<WorkflowScheduler>.Instance);
        await scheduler.StartAsync(CancellationToken.None);
        var key = WorkflowScheduler.RetryTriggerKey(path);
        async Task<DateTimeOffset?> PublishAsync(params (SlotState State, DateTimeOffset? At)[] slots)
        {
            var snapshot = new WorkflowSnapshot
            {
                Project = "study", File = "a.json",
                Slots = slots.Select((s, i) => new SlotRecord { Sample = $"s{i}", Analysis = "x", State = s.State, NextAttemptAt = s.At }).ToList(),
            };
            registry.Publish(registry.Get(path)!, snapshot, []);
            await scheduler.ProcessedThroughAsync(registry.Sequence, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
            return (await quartz.GetTrigger(key))?.StartTimeUtc;
        }

        try
        {
            var now = DateTimeOffset.UtcNow;
            var later = now.AddMinutes(10);
            var sooner = now.AddMinutes(3);
            var pastAt = now.AddMinutes(-1);

            Assert.Equal(later, await PublishAsync((SlotState.Retrying, later), (SlotState.Running, null)));
            Assert.Equal((later, 1), (await PublishAsync((SlotState.Retrying, later)), (await quartz.GetTriggersOfJob(new JobKey(path, "workflows"))).Count - 1));
            Assert.Equal(sooner, await PublishAsync((SlotState.Retrying, later), (SlotState.Retrying, sooner)));
            Assert.Null(await PublishAsync((SlotState.Complete, null), (SlotState.FailedPermanently, null)));
            Assert.Null(await PublishAsync((SlotState.Retrying, pastAt)));
        }
        finally
        {
            await scheduler.StopAsync(CancellationToken.None);
            await quartz.Shutdown(waitForJobsToComplete: false);
        }
    }
}

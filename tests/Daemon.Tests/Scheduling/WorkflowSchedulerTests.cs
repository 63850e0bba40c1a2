using System.Collections.Concurrent;
using Batchkeeper.Daemon.Scheduling;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Quartz;

namespace Batchkeeper.Daemon.Tests.Scheduling;

/// <summary>The workflow schedule against a real Quartz scheduler.</summary>
public sealed class WorkflowSchedulerTests
{
    /// <summary>Start times of the test job, per scheduler run.</summary>
    private static readonly ConcurrentDictionary<string, ConcurrentQueue<(string Job, DateTimeOffset At)>> Runs = new();

    private sealed class SlowPass : IJob
    {
        public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
        {
            Runs[context.MergedJobDataMap.GetString("run")!].Enqueue((context.JobDetail.Key.Name, DateTimeOffset.UtcNow));
            await Task.Delay(TimeSpan.FromMilliseconds(800), cancellationToken);
        }
    }

    [Fact]
    public async Task ManyWorkflowsAddedAtOnce_EachGetsItsFirstPassSoon_EvenWhenTheyQueueLongerThanTheMisfireThreshold()
    {
        // One thread and ten passes of 0.8 s: the last ones wait about 7 s, beyond Quartz's 5 s misfire threshold.
        // Skipping a misfired first pass to the next interval (an hour here) would leave them unreconciled.
        var run = Guid.NewGuid().ToString("N");
        Runs[run] = new ConcurrentQueue<(string, DateTimeOffset)>();
        await using var services = new ServiceCollection()
            .AddQuartz(q => q.UseDefaultThreadPool(tp => tp.MaxConcurrency = 1))
            .BuildServiceProvider();
        var scheduler = await services.GetRequiredService<ISchedulerFactory>().GetScheduler();
        await scheduler.Start();
        try
        {
            for (var i = 0; i < 10; i++)
            {
                var key = new JobKey($"workflow-{i}", "workflows");
                var job = JobBuilder.Create<SlowPass>().WithIdentity(key).UsingJobData("run", run).Build();
                await scheduler.ScheduleJob(job, WorkflowScheduler.RepeatingTrigger(key, TimeSpan.FromHours(1)));
            }

            await Eventually.WaitAsync(() => Runs[run].Select(r => r.Job).Distinct().Count() == 10,
                "a first pass of every workflow", TimeSpan.FromSeconds(30));
            Assert.Equal(10, Runs[run].Count);
        }
        finally
        {
            await scheduler.Shutdown(waitForJobsToComplete: false);
        }
    }
}

using Amazon.SQS;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Registry;
using Batchkeeper.Daemon.Scheduling;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Aws.JobStates;

/// <summary>Registers the job states of the AWS backend: the cache, and the events queue's consumer when one is configured.</summary>
public static class JobStatesServiceCollectionExtensions
{
    /// <summary>Without events, how old a listing or description may be and still answer a pass: at most this, and half the interval.</summary>
    private static readonly TimeSpan LongestPollingAge = TimeSpan.FromSeconds(15);

    public static IServiceCollection AddJobStates(this IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var interval = sp.GetService<IOptions<BatchkeeperOptions>>()?.Value.ReconcileInterval ?? TimeSpan.FromSeconds(30);
            return new JobStateCache(sp.GetRequiredService<TimeProvider>())
            {
                PollingMaxAge = TimeSpan.FromTicks(Math.Min(interval.Ticks / 2, LongestPollingAge.Ticks)),
            };
        });

        // Made only when the consumer runs, i.e. with an events queue.
        services.AddSingleton<IAmazonSQS>(sp => AwsBackendRegistration.CreateSqsClient(
            sp.GetRequiredService<IOptions<AwsOptions>>().Value, AwsServiceCollectionExtensions.Credentials(sp), sp.GetService<Metrics.BackendRequests>()));
        services.AddSingleton(sp => new JobEventsConsumer(
            sp,
            sp.GetRequiredService<IOptions<AwsOptions>>(),
            sp.GetRequiredService<JobStateCache>(),
            sp.GetRequiredService<IWorkflowChanges>(),
            path => sp.GetRequiredService<WorkflowScheduler>().TriggerIfManagedAsync(path, CancellationToken.None),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<JobEventsConsumer>>()));
        services.AddHostedService(sp => sp.GetRequiredService<JobEventsConsumer>());
        return services;
    }
}

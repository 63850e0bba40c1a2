using System.Threading.Channels;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Batchkeeper.Core.Logging;
using Batchkeeper.Core.Workflows;
using Batchkeeper.Daemon.Registry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Aws.JobStates;

/// <summary>
/// With <see cref="AwsOptions.EventsQueueUrl"/>: long-polls the events queue (20 s waits, 10 messages), applies each
/// "Batch Job State Change" to the job it names (<see cref="JobStateCache"/>: in the order of the job's life, so
/// duplicates and stale states change nothing), asks for a pass of the workflow that owns the job, and deletes the
/// message once that workflow's snapshot records the state (<see cref="PendingMessages"/>, from the change feed).
/// A message that brought nothing new (a duplicate, an older state, a job not ours) is deleted at once; one that is
/// no event (not JSON, another detail-type) is said once by its id and deleted too: it can never become one, and
/// deleting it keeps a dead-letter queue for what the daemon could not delete.
/// <para>
/// Every job is described again at start-up (the cache starts empty, so every pass asks Batch once) and every
/// <see cref="AwsOptions.EventsResyncInterval"/>: events lost while the daemon was down or on the way are made up.
/// While the queue cannot be read the cache does not trust itself and the passes poll Batch, so nothing stalls; the
/// receiving backs off (1 s doubling to a minute), said once per outage.
/// </para>
/// </summary>
public sealed class JobEventsConsumer : BackgroundService
{
    /// <summary>The longest long poll SQS allows.</summary>
    public const int WaitSeconds = 20;

    /// <summary>How long a received message stays invisible to other receives: time for its workflow's pass.</summary>
    internal static readonly TimeSpan Visibility = TimeSpan.FromMinutes(5);

    private static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LongestBackoff = TimeSpan.FromMinutes(1);

    private readonly IServiceProvider _services;
    private readonly AwsOptions _options;
    private readonly JobStateCache _cache;
    private readonly Func<string, Task> _reconcile;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly ChannelReader<WorkflowChange>? _changes;
    private readonly PendingMessages _pending;
    private readonly HashSet<string> _badSaid = new(StringComparer.Ordinal);
    private IAmazonSQS? _sqs;
    private volatile bool _deleteFailing;

    /// <param name="reconcile">Asks for a pass of the workflow file at this path (the scheduler's trigger).</param>
    public JobEventsConsumer(
        IServiceProvider services, IOptions<AwsOptions> options, JobStateCache cache, IWorkflowChanges changes, Func<string, Task> reconcile,
        TimeProvider clock, ILogger<JobEventsConsumer> logger)
    {
        _services = services;
        _options = options.Value;
        _cache = cache;
        _reconcile = reconcile;
        _clock = clock;
        _logger = logger;
        _pending = new PendingMessages(cache, clock);

        // Only with a queue: an unread subscription would keep every change. From construction on, so no pass is missed.
        _changes = Enabled ? changes.Subscribe(CancellationToken.None) : null;
    }

    private bool Enabled => !string.IsNullOrWhiteSpace(_options.EventsQueueUrl);

    private string QueueUrl => _options.EventsQueueUrl!.Trim();

    /// <summary>Messages waiting for their workflow's snapshot (for tests).</summary>
    internal int Pending => _pending.Count;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            return;
        }

        _sqs = _services.GetService(typeof(IAmazonSQS)) as IAmazonSQS ?? throw new InvalidOperationException("No SQS client is registered.");
        Log.EventsStarted(_logger, QueueUrl, Readable.Duration(_options.EventsResyncInterval));
        var feed = FollowFeedAsync(stoppingToken);
        try
        {
            await ReceiveLoopAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Clean stop: messages not deleted yet are delivered again after their visibility timeout.
        }

        await feed;
    }

    private async Task ReceiveLoopAsync(CancellationToken stoppingToken)
    {
        var lastResync = _clock.GetTimestamp();
        long? outageSince = null;
        var backoff = FirstBackoff;
        while (!stoppingToken.IsCancellationRequested)
        {
            ReceiveMessageResponse received;
            try
            {
                // Until the queue has answered once (at start, after an outage), a short poll: the cache trusts events only
                // from its first answer on, and a long poll on an empty queue would keep the passes polling Batch for 20 s.
                received = await _sqs!.ReceiveMessageAsync(
                    new ReceiveMessageRequest
                    {
                        QueueUrl = QueueUrl, MaxNumberOfMessages = 10, WaitTimeSeconds = _cache.EventsHealthy ? WaitSeconds : 0,
                        VisibilityTimeout = (int)Visibility.TotalSeconds,
                    },
                    stoppingToken);
            }
            catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or TimeoutException
                                      || e is OperationCanceledException && !stoppingToken.IsCancellationRequested)
            {
                // Polling until the queue can be read again: the cache no longer answers on its own.
                _cache.EventsHealthy = false;
                if (e is AmazonServiceException service && AwsResiliencePolicy.RejectsCredentials(service.ErrorCode))
                {
                    AwsServiceCollectionExtensions.CredentialsRejected(_services)?.Invoke();
                }

                if (outageSince is null)
                {
                    outageSince = _clock.GetTimestamp();
                    Log.EventsUnreachable(_logger, QueueUrl, Reason(e), Readable.Duration(backoff));
                }

                await Task.Delay(Jitter(backoff), _clock, stoppingToken);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, LongestBackoff.Ticks));
                continue;
            }

            if (outageSince is { } since)
            {
                // Whatever the queue missed meanwhile is made up by describing every job once more.
                Log.EventsReachableAgain(_logger, QueueUrl, Readable.Duration(_clock.GetElapsedTime(since)));
                _cache.Resync();
                lastResync = _clock.GetTimestamp();
                outageSince = null;
                backoff = FirstBackoff;
            }

            _cache.EventsHealthy = true;
            await HandleAsync(received.Messages ?? [], stoppingToken);
            if (_clock.GetElapsedTime(lastResync) >= _options.EventsResyncInterval)
            {
                Log.Resync(_logger, Readable.Duration(_options.EventsResyncInterval));
                _cache.Resync();
                lastResync = _clock.GetTimestamp();
            }

            _pending.Expire(Visibility - TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>Applies a batch of messages: deletes what needs no snapshot, holds the rest, asks for the passes.</summary>
    private async Task HandleAsync(List<Message> messages, CancellationToken cancellationToken)
    {
        var deletable = new List<string>();
        var reconcile = new HashSet<string>(StringComparer.Ordinal);
        var applied = 0;
        foreach (var message in messages)
        {
            try
            {
                applied += Apply(message, deletable, reconcile);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The parser never throws, but a message can parse and still not make a job (a null where Batch puts
                // an object): a message boundary, so whatever it is, it is said once and deleted, never the daemon's end.
                SayBad(message.MessageId, $"it could not be applied ({e.GetType().Name})");
                deletable.Add(message.ReceiptHandle);
            }
        }

        if (messages.Count > 0)
        {
            Log.Received(_logger, messages.Count, applied, reconcile.Count);
        }

        foreach (var path in reconcile)
        {
            await _reconcile(path);
        }

        await DeleteAsync(deletable, cancellationToken);
    }

    /// <summary>One message: held for its workflow's snapshot, or put with those to delete. 1 when it changed a job of ours.</summary>
    private int Apply(Message message, List<string> deletable, HashSet<string> reconcile)
    {
        var applied = 0;
        switch (EventMessage.Parse(message.Body))
        {
            case EventMessage.JobStateChange change when _cache.ObserveEvent(change.Job) is { } result:
                if (result.Changed && _cache.IsOurs(change.Job.JobId))
                {
                    applied++;
                    if (_pending.Hold(message.MessageId, message.ReceiptHandle, change.Job.JobId, result.Version) is { } owner)
                    {
                        reconcile.Add(owner);
                    }
                }
                else
                {
                    deletable.Add(message.ReceiptHandle);
                }

                break;
            case EventMessage.JobStateChange:
                SayBad(message.MessageId, "a status Batchkeeper does not know");
                deletable.Add(message.ReceiptHandle);
                break;
            case EventMessage.Other other:
                Log.OtherEvent(_logger, message.MessageId, other.DetailType, other.Source);
                deletable.Add(message.ReceiptHandle);
                break;
            case EventMessage.Bad bad:
                SayBad(message.MessageId, bad.Reason);
                deletable.Add(message.ReceiptHandle);
                break;
        }

        return applied;
    }

    /// <summary>The change feed: owners of jobs, snapshots written (their messages deleted), workflows gone.</summary>
    private async Task FollowFeedAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var change in _changes!.ReadAllAsync(stoppingToken))
            {
                switch (change)
                {
                    case PassCompleted { NotWritten: true }:
                        // The states this pass read are not on disk: their messages wait for a pass whose write succeeds
                        // (held past their visibility timeout they come back, and are held again, as duplicates).
                        break;
                    case PassCompleted pass:
                        var (done, again) = _pending.Published(pass.Path, pass.Snapshot);
                        if (again)
                        {
                            await _reconcile(pass.Path);
                        }

                        await DeleteAsync(done, stoppingToken);
                        break;
                    case WorkflowRemoved removed:
                        await DeleteAsync(_pending.Removed(removed.Path), stoppingToken);
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Clean stop.
        }
    }

    /// <summary>DeleteMessageBatch, 10 a call. A failure is said once until deleting works again: the messages come back, as duplicates.</summary>
    private async Task DeleteAsync(List<string> receiptHandles, CancellationToken cancellationToken)
    {
        foreach (var chunk in receiptHandles.Chunk(10))
        {
            try
            {
                var entries = chunk.Select((handle, i) => new DeleteMessageBatchRequestEntry { Id = i.ToString(System.Globalization.CultureInfo.InvariantCulture), ReceiptHandle = handle }).ToList();
                var response = await _sqs!.DeleteMessageBatchAsync(new DeleteMessageBatchRequest { QueueUrl = QueueUrl, Entries = entries }, cancellationToken);
                if (response.Failed is { Count: > 0 } failed)
                {
                    DeleteFailed(failed.Count, string.Join(", ", failed.Select(f => f.Code).Distinct(StringComparer.Ordinal)));
                }
                else
                {
                    _deleteFailing = false;
                }
            }
            catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or TimeoutException
                                      || e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                DeleteFailed(chunk.Length, Reason(e));
            }
        }
    }

    private void DeleteFailed(int count, string reason)
    {
        if (!_deleteFailing)
        {
            _deleteFailing = true;
            Log.DeleteFailed(_logger, count, reason);
        }
    }

    /// <summary>Said once per message (a message that could not be deleted comes back: not said again).</summary>
    private void SayBad(string messageId, string reason)
    {
        if (_badSaid.Count > 10_000)
        {
            _badSaid.Clear();
        }

        if (_badSaid.Add(messageId))
        {
            Log.BadMessage(_logger, Quoted.Escape(messageId), reason);
        }
    }

    // An SDK message names the failure ("Connection refused (127.0.0.1:9)", "The specified queue does not exist."); the code says which.
    private static string Reason(Exception e) => e is AmazonServiceException { ErrorCode: { Length: > 0 } code } service
        ? $"{code}: {service.Message}"
        : e.GetBaseException().Message;

    private static TimeSpan Jitter(TimeSpan delay) => TimeSpan.FromTicks((long)(delay.Ticks * (0.5 + (Random.Shared.NextDouble() / 2))));
}

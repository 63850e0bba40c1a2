using JobDetail = Batchkeeper.Daemon.Aws.Batch.Model.JobDetail;

namespace Batchkeeper.Daemon.Aws;

/// <summary>
/// Merges the DescribeJobs requests of passes running at the same time into as few calls of at most 100 ids as
/// possible. Whenever 100 ids are waiting they are sent at once; the remainder waits for more: until every pass in
/// flight is waiting here (when <c>passesInFlight</c> is known), or <c>maxWait</c> at most; without
/// <c>passesInFlight</c>, for <c>window</c>. Each caller gets the jobs it asked for once all its ids are answered.
/// </summary>
internal sealed class DescribeBatcher(
    Func<IReadOnlyList<string>, CancellationToken, Task<IReadOnlyList<JobDetail>>> describe,
    TimeSpan window,
    Func<int>? passesInFlight,
    TimeSpan? maxWait,
    TimeProvider clock)
{
    private const int ChunkSize = AwsBatchJobBackend.DescribeLimit;

    private readonly Lock _gate = new();
    private readonly List<string> _queued = [];
    private readonly Dictionary<string, List<Waiter>> _interested = new(StringComparer.Ordinal);
    private readonly HashSet<Waiter> _waiting = [];
    private readonly TimeSpan _maxWait = maxWait ?? TimeSpan.FromSeconds(1);
    private bool _timerArmed;

    private sealed class Waiter(IReadOnlyCollection<string> ids)
    {
        public IReadOnlyCollection<string> Ids { get; } = ids;
        public HashSet<string> Remaining { get; } = new(ids, StringComparer.Ordinal);
        public Dictionary<string, JobDetail> Found { get; } = new(StringComparer.Ordinal);
        public TaskCompletionSource<IReadOnlyList<JobDetail>> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public async Task<IReadOnlyList<JobDetail>> DescribeAsync(IReadOnlyCollection<string> jobIds, CancellationToken cancellationToken)
    {
        if (jobIds.Count == 0)
        {
            return [];
        }

        var waiter = new Waiter(jobIds);
        List<string[]> send;
        lock (_gate)
        {
            _waiting.Add(waiter);
            foreach (var id in waiter.Remaining)
            {
                // An id already queued or in flight for another pass is answered by that call.
                if (!_interested.TryGetValue(id, out var list))
                {
                    _interested[id] = list = [];
                    _queued.Add(id);
                }

                list.Add(waiter);
            }

            send = TakeLocked(all: EveryoneWaitingLocked());
            ArmTimerLocked();
        }

        Send(send);
        return await waiter.Done.Task.WaitAsync(cancellationToken);
    }

    private bool EveryoneWaitingLocked() => passesInFlight is not null && _waiting.Count >= passesInFlight();

    /// <summary>Full chunks, and with <paramref name="all"/> the remainder too.</summary>
    private List<string[]> TakeLocked(bool all)
    {
        var chunks = new List<string[]>();
        while (_queued.Count >= ChunkSize || (all && _queued.Count > 0))
        {
            var size = Math.Min(ChunkSize, _queued.Count);
            chunks.Add([.. _queued.GetRange(0, size)]);
            _queued.RemoveRange(0, size);
        }

        return chunks;
    }

    private void ArmTimerLocked()
    {
        if (_queued.Count > 0 && !_timerArmed)
        {
            _timerArmed = true;
            _ = FlushLaterAsync();
        }
    }

    private async Task FlushLaterAsync()
    {
        var started = clock.GetTimestamp();
        while (true)
        {
            await Task.Delay(window, clock);
            List<string[]> send;
            lock (_gate)
            {
                var due = passesInFlight is null || EveryoneWaitingLocked() || clock.GetElapsedTime(started) >= _maxWait;
                if (!due && _queued.Count > 0)
                {
                    continue;
                }

                _timerArmed = false;
                send = TakeLocked(all: true);
            }

            Send(send);
            return;
        }
    }

    private void Send(List<string[]> chunks)
    {
        foreach (var chunk in chunks)
        {
            _ = SendAsync(chunk);
        }
    }

    private async Task SendAsync(string[] chunk)
    {
        IReadOnlyList<JobDetail>? found = null;
        Exception? error = null;
        try
        {
            found = await describe(chunk, CancellationToken.None);
        }
        catch (Exception e)
        {
            error = e;
        }

        var byId = found?.ToDictionary(d => d.JobId, StringComparer.Ordinal);
        var finished = new List<Waiter>();
        var failed = new List<Waiter>();
        lock (_gate)
        {
            foreach (var id in chunk)
            {
                if (!_interested.Remove(id, out var waiters))
                {
                    continue;
                }

                foreach (var waiter in waiters)
                {
                    if (error is not null)
                    {
                        if (_waiting.Remove(waiter))
                        {
                            failed.Add(waiter);
                        }

                        continue;
                    }

                    if (byId!.TryGetValue(id, out var detail))
                    {
                        waiter.Found[id] = detail;
                    }

                    waiter.Remaining.Remove(id);
                    if (waiter.Remaining.Count == 0 && _waiting.Remove(waiter))
                    {
                        finished.Add(waiter);
                    }
                }
            }
        }

        foreach (var waiter in failed)
        {
            waiter.Done.TrySetException(error!);
        }

        foreach (var waiter in finished)
        {
            waiter.Done.TrySetResult(waiter.Ids.Where(waiter.Found.ContainsKey).Select(id => waiter.Found[id]).ToArray());
        }
    }
}

using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Daemon.Aws.JobStates;

/// <summary>
/// The events-queue messages that moved a job's state on and wait for that state to be in its workflow's snapshot
/// before they are deleted, and which workflow owns which job (from the snapshots on the change feed: the slots' current
/// jobs). A message is done when a pass of the owner has published a snapshot that records the job with the state the
/// cache last handed out, itself at least as new as the message's (or no longer follows the job: it ended, the slot was
/// settled, its spec changed). Until then a kill -9 leaves the message in the queue, to be delivered again: applied
/// once more, it is a duplicate and changes nothing, and the start-up sweep describes every job anyway.
/// </summary>
internal sealed class PendingMessages(JobStateCache cache, TimeProvider clock)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _owners = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _jobsOf = new(StringComparer.Ordinal);
    private readonly HashSet<string> _awaitingPass = new(StringComparer.Ordinal);

    /// <param name="PassAsked">A pass of the owner was asked for after it arrived (not only one asked for before).</param>
    private sealed record Pending(string MessageId, string ReceiptHandle, string JobId, long Version, long ReceivedAt, bool PassAsked);

    /// <summary>Messages waiting (for tests).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>
    /// Holds a message whose event moved <paramref name="jobId"/> to state <paramref name="version"/> until its snapshot
    /// records it. Returns the owning workflow when a pass of it must be asked for (none asked for since its last pass),
    /// else null (unknown owner yet: asked for when a snapshot names the job).
    /// </summary>
    public string? Hold(string messageId, string receiptHandle, string jobId, long version)
    {
        lock (_gate)
        {
            // A message delivered again replaces its older handle: only the latest one deletes it. A pass asked for
            // already (and not ended yet) may have read the job before this message came: see Published.
            var ask = _owners.TryGetValue(jobId, out var owner) && _awaitingPass.Add(owner);
            var asked = ask || _pending.GetValueOrDefault(messageId)?.PassAsked == true;
            _pending[messageId] = new Pending(messageId, receiptHandle, jobId, version, clock.GetTimestamp(), asked);
            return ask ? owner : null;
        }
    }

    /// <summary>
    /// A pass of <paramref name="path"/> published <paramref name="snapshot"/>: the owners of its jobs are updated, and
    /// the receipt handles of the messages now recorded are returned, with whether the workflow needs another pass: a
    /// message's state was not handed out yet, and no pass was asked for since it came (its job had no owner yet, or the
    /// pass asked for before had read the job already). Asked once per message, so a pass that keeps failing before it
    /// reads its jobs is left to the schedule rather than run again and again.
    /// </summary>
    public (List<string> Done, bool Reconcile) Published(string path, WorkflowSnapshot snapshot)
    {
        var current = new Dictionary<string, SlotRecord>(StringComparer.Ordinal);
        foreach (var slot in snapshot.Slots)
        {
            if (slot.JobId is { } id)
            {
                current[id] = slot;
            }
        }

        lock (_gate)
        {
            _awaitingPass.Remove(path);
            if (_jobsOf.TryGetValue(path, out var before))
            {
                foreach (var id in before.Where(id => !current.ContainsKey(id)))
                {
                    _owners.Remove(id);
                }
            }

            foreach (var id in current.Keys)
            {
                _owners[id] = path;
            }

            _jobsOf[path] = [.. current.Keys];
            var done = new List<string>();
            var reconcile = false;
            foreach (var pending in _pending.Values.Where(p => _owners.GetValueOrDefault(p.JobId) == path || before?.Contains(p.JobId) == true).ToList())
            {
                if (IsRecorded(pending, current.GetValueOrDefault(pending.JobId)))
                {
                    _pending.Remove(pending.MessageId);
                    done.Add(pending.ReceiptHandle);
                }
                else if (!pending.PassAsked && _owners.GetValueOrDefault(pending.JobId) == path && !(cache.Reported(pending.JobId)?.Version >= pending.Version))
                {
                    _pending[pending.MessageId] = pending with { PassAsked = true };
                    reconcile = true;
                }
            }

            if (reconcile)
            {
                _awaitingPass.Add(path);
            }

            return (done, reconcile);
        }
    }

    /// <summary>The workflow is no longer managed: nothing will record its jobs, so their messages are done.</summary>
    public List<string> Removed(string path)
    {
        lock (_gate)
        {
            _awaitingPass.Remove(path);
            if (!_jobsOf.Remove(path, out var jobs))
            {
                return [];
            }

            foreach (var id in jobs)
            {
                _owners.Remove(id);
            }

            var done = _pending.Values.Where(p => jobs.Contains(p.JobId)).ToList();
            foreach (var pending in done)
            {
                _pending.Remove(pending.MessageId);
            }

            return [.. done.Select(p => p.ReceiptHandle)];
        }
    }

    /// <summary>
    /// Messages held longer than <paramref name="limit"/> are let go without deleting them: their visibility timeout
    /// is about to end and SQS delivers them again (then they are duplicates, deleted at once). Returns how many.
    /// </summary>
    public int Expire(TimeSpan limit)
    {
        lock (_gate)
        {
            var expired = _pending.Values.Where(p => clock.GetElapsedTime(p.ReceivedAt) > limit).Select(p => p.MessageId).ToList();
            foreach (var id in expired)
            {
                _pending.Remove(id);
            }

            return expired.Count;
        }
    }

    /// <summary>Whether the snapshot records the state the message brought (or something later), or no longer follows the job.</summary>
    private bool IsRecorded(Pending pending, SlotRecord? slot)
    {
        if (slot is null || slot.State is not (SlotState.Queued or SlotState.Running or SlotState.Verifying))
        {
            return true;
        }

        return cache.Reported(pending.JobId) is { } reported && reported.Version >= pending.Version && slot.BatchStatus == reported.Status.ToWire();
    }
}

using Batchkeeper.Core.Ports;
using BatchJob = Batchkeeper.Daemon.Aws.Batch.Model.JobDetail;
using BatchSummary = Batchkeeper.Daemon.Aws.Batch.Model.JobSummary;

namespace Batchkeeper.Daemon.Aws.JobStates;

/// <summary>What a job's state was when the cache last handed it to a pass.</summary>
public readonly record struct ReportedState(JobStateKey Key, JobStatus Status, long Version);

/// <summary>What applying one observation did: whether the job's state moved on, and its version since.</summary>
public readonly record struct StateApplied(bool Changed, long Version);

/// <summary>
/// The last known state of every job the daemon asks about, from every source: the SubmitJob answer (the record of
/// SUBMITTED, for which Batch sends no event), DescribeJobs, ListJobs summaries and job-state events. A job's states are
/// kept in the order of its life (<see cref="JobStateKey"/>): an observation older than the state known changes
/// nothing, so a pass is never told a state older than one it was told, and an ended job stays ended.
/// <para>
/// When a state may be handed out without asking Batch again (<see cref="IsTrusted"/>): while the events queue is read
/// (<see cref="EventsHealthy"/>), a job confirmed by Batch (SubmitJob, DescribeJobs, a listing) since the last
/// <see cref="Resync"/>, with every event since applied; without events, a job observed since it was last handed out
/// and not longer ago than <see cref="PollingMaxAge"/>, so that each pass hears of what happened since the one before.
/// Events alone never confirm a job: a stale event redelivered after a restart must not stand in for the start-up sweep.
/// </para>
/// </summary>
public sealed class JobStateCache(TimeProvider clock)
{
    /// <summary>Jobs neither asked about nor submitted for this long are forgotten.</summary>
    internal static readonly TimeSpan ForgetAfter = TimeSpan.FromHours(1);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _jobs = new(StringComparer.Ordinal);
    private long _sequence;
    private long _version;
    private int _generation;
    private volatile bool _eventsHealthy;

    /// <summary>Without events, how old an observation may be and still answer a pass. Default 15 s.</summary>
    public TimeSpan PollingMaxAge { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Whether the events queue is being read: set by the consumer, false (polling) until its first receive.</summary>
    public bool EventsHealthy
    {
        get => _eventsHealthy;
        set => _eventsHealthy = value;
    }

    /// <summary>Jobs known now (for tests and the benchmark).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _jobs.Count;
            }
        }
    }

    private sealed class Entry
    {
        public JobDetail Detail = null!;
        public JobStateKey Key;
        public string? Queue;
        public long Version;

        /// <summary>Submitted by this daemon or asked about by a pass: a job of ours, not only a job some event named.</summary>
        public bool Ours;

        /// <summary>When the daemon first heard of it, in the order of observations.</summary>
        public long CreatedSequence;

        /// <summary>When its state last moved on (or it was first heard of), in the order of observations.</summary>
        public long ChangedSequence;

        public long ObservedSequence = long.MinValue;
        public long ObservedTimestamp;
        public int ConfirmedGeneration = -1;
        public long ReportedSequence = long.MinValue;
        public ReportedState? Reported;
        public long TouchedTimestamp;
    }

    /// <summary>The queue's name from its name or ARN (<c>arn:aws:batch:…:job-queue/NAME</c>): ListJobs takes either.</summary>
    public static string QueueName(string queue)
    {
        var at = queue.LastIndexOf(":job-queue/", StringComparison.Ordinal);
        return queue.StartsWith("arn:", StringComparison.Ordinal) && at >= 0 ? queue[(at + ":job-queue/".Length)..] : queue;
    }

    /// <summary>The SubmitJob answer: the job exists, SUBMITTED, in <paramref name="queue"/>; the record of that state.</summary>
    public StateApplied ObserveSubmitted(string jobId, string jobName, string queue)
    {
        var detail = new JobDetail(jobId, jobName, JobStatus.Submitted, null, null, null, clock.GetUtcNow(), null, null, null, null, null);
        lock (_gate)
        {
            var entry = ApplyLocked(jobId, detail, new JobStateKey(0, JobStatus.Submitted), QueueName(queue), out var changed);
            entry.Ours = true;

            // Confirmed for events (Batch sends none for SUBMITTED), but not an observation for polling: a pass asking
            // next reads Batch, as it always has (and a job DescribeJobs does not list yet stays unanswered).
            entry.ConfirmedGeneration = _generation;
            return new StateApplied(changed, entry.Version);
        }
    }

    /// <summary>A job as DescribeJobs answered it (ids it left out are simply not observed).</summary>
    public StateApplied ObserveDescribed(BatchJob job) => Observe(job, confirm: true);

    /// <summary>
    /// A job-state event: applied in the order of the job's life, confirming nothing. Null when its status is not one
    /// the daemon knows (a message to report, not a state).
    /// </summary>
    public StateApplied? ObserveEvent(BatchJob job) => IsBatchStatus(job.Status) ? Observe(job, confirm: false) : null;

    /// <summary>
    /// One of Batch's status names. Not Enum.TryParse, which also takes "7" and "RUNNING, FAILED" and would give an
    /// undefined status that ranks above RUNNING.
    /// </summary>
    internal static bool IsBatchStatus(string? status) =>
        status is not null && Enum.GetNames<JobStatus>().Any(name => string.Equals(name, status, StringComparison.OrdinalIgnoreCase));

    private StateApplied Observe(BatchJob job, bool confirm)
    {
        var detail = AwsBatchJobBackend.ToDetail(job);
        lock (_gate)
        {
            var entry = ApplyLocked(job.JobId, detail, new JobStateKey(job.Attempts.Count, detail.Status), QueueName(job.JobQueue), out var changed);
            if (confirm)
            {
                ConfirmLocked(entry, ++_sequence);
            }

            return new StateApplied(changed, entry.Version);
        }
    }

    /// <summary>A position in the order of observations and reports: a listing started at it observes what it lists "then".</summary>
    internal long Mark()
    {
        lock (_gate)
        {
            return ++_sequence;
        }
    }

    /// <summary>
    /// Applies one complete listing of <paramref name="queue"/>'s active jobs, started at <paramref name="startedAt"/>
    /// (<see cref="Mark"/>): each of our jobs listed is observed with the listed status (a status before the known one
    /// is a Batch retry), unless its state moved on since the listing began (an event, a DescribeJobs answer): a page
    /// may have been read before that, and a summary has no attempts to tell an old page from a retry. Returns our jobs
    /// to describe: those not listed although active when last known (they left the active lists: their end, attempts
    /// and log stream are DescribeJobs') and those listed RUNNING that were not (their log stream).
    /// </summary>
    internal List<string> ObserveListing(string queue, IEnumerable<BatchSummary> listed, long startedAt)
    {
        var describe = new List<string>();
        lock (_gate)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var summary in listed)
            {
                if (!_jobs.TryGetValue(summary.JobId, out var entry) || !entry.Ours || summary.Status is not { } wire
                    || !Enum.TryParse<JobStatus>(wire, ignoreCase: true, out var status))
                {
                    continue;
                }

                seen.Add(summary.JobId);
                if (entry.ChangedSequence < startedAt)
                {
                    var key = new JobStateKey(JobStateKey.InferAttempts(status, entry.Key), status);
                    var detail = new JobDetail(summary.JobId, summary.JobName, status, summary.StatusReason, summary.Container?.Reason,
                        summary.Container?.ExitCode, summary.CreatedAt, summary.StartedAt, summary.StoppedAt, null, null, null);
                    ApplyLocked(summary.JobId, detail, key, entry.Queue, out _);
                }

                ConfirmLocked(entry, startedAt);
                if (entry.Key.Status == JobStatus.Running && entry.Detail.LogStream is null)
                {
                    describe.Add(summary.JobId);
                }
            }

            foreach (var (id, entry) in _jobs)
            {
                if (entry.Ours && entry.Queue == queue && !entry.Key.IsTerminal && !seen.Contains(id)
                    && entry.CreatedSequence < startedAt && entry.ObservedSequence < startedAt)
                {
                    describe.Add(id);
                }
            }
        }

        return describe;
    }

    /// <summary>
    /// Hands out what can be answered without asking Batch (<see cref="IsTrusted"/>) into <paramref name="answered"/>
    /// and lists the rest in <paramref name="refresh"/>. Every job asked about is one of ours from now on.
    /// </summary>
    internal void Answer(IEnumerable<string> jobIds, Dictionary<string, JobDetail> answered, List<string> refresh)
    {
        var now = clock.GetTimestamp();
        lock (_gate)
        {
            foreach (var id in jobIds)
            {
                if (answered.ContainsKey(id))
                {
                    continue;
                }

                if (_jobs.TryGetValue(id, out var entry))
                {
                    entry.Ours = true;
                    entry.TouchedTimestamp = now;
                    if (IsTrustedLocked(entry))
                    {
                        answered[id] = ReportLocked(entry);
                        continue;
                    }
                }

                refresh.Add(id);
            }
        }
    }

    /// <summary>After a refresh: hands out each job observed since it was last handed out (one Batch left out is not).</summary>
    internal void AnswerRefreshed(IEnumerable<string> jobIds, Dictionary<string, JobDetail> answered)
    {
        var now = clock.GetTimestamp();
        lock (_gate)
        {
            foreach (var id in jobIds)
            {
                if (_jobs.TryGetValue(id, out var entry) && entry.ObservedSequence > entry.ReportedSequence)
                {
                    entry.Ours = true;
                    entry.TouchedTimestamp = now;
                    answered[id] = ReportLocked(entry);
                }
            }
        }
    }

    /// <summary>The latest report among these jobs (a listing started after it answers them all).</summary>
    internal long LastReported(IEnumerable<string> jobIds)
    {
        lock (_gate)
        {
            var last = long.MinValue;
            foreach (var id in jobIds)
            {
                if (_jobs.TryGetValue(id, out var entry))
                {
                    last = Math.Max(last, entry.ReportedSequence);
                }
            }

            return last;
        }
    }

    /// <summary>The queue a job was submitted to, when known.</summary>
    internal string? QueueOf(string jobId)
    {
        lock (_gate)
        {
            return _jobs.TryGetValue(jobId, out var entry) ? entry.Queue : null;
        }
    }

    /// <summary>Our jobs in <paramref name="queue"/> that are active as far as known.</summary>
    internal int ActiveIn(string queue)
    {
        lock (_gate)
        {
            return _jobs.Values.Count(e => e.Ours && e.Queue == queue && !e.Key.IsTerminal);
        }
    }

    /// <summary>Whether the job was submitted by this daemon or asked about by a pass (not only named by an event).</summary>
    public bool IsOurs(string jobId)
    {
        lock (_gate)
        {
            return _jobs.TryGetValue(jobId, out var entry) && entry.Ours;
        }
    }

    /// <summary>The state last handed to a pass for this job, or null.</summary>
    public ReportedState? Reported(string jobId)
    {
        lock (_gate)
        {
            return _jobs.TryGetValue(jobId, out var entry) ? entry.Reported : null;
        }
    }

    /// <summary>Whether the cache may answer for this job now without asking Batch.</summary>
    public bool IsTrusted(string jobId)
    {
        lock (_gate)
        {
            return _jobs.TryGetValue(jobId, out var entry) && IsTrustedLocked(entry);
        }
    }

    /// <summary>
    /// The backstop: no job is trusted until Batch confirms it again (the next pass asking about it sends DescribeJobs or
    /// lists its queue), and jobs nobody asked about for <see cref="ForgetAfter"/> are forgotten.
    /// </summary>
    public void Resync()
    {
        lock (_gate)
        {
            _generation++;
            ForgetLocked();
        }
    }

    /// <summary>Forgets the jobs nobody asked about (nor submitted) for <see cref="ForgetAfter"/>.</summary>
    public void Forget()
    {
        lock (_gate)
        {
            ForgetLocked();
        }
    }

    private void ForgetLocked()
    {
        foreach (var id in _jobs.Where(j => clock.GetElapsedTime(j.Value.TouchedTimestamp) > ForgetAfter).Select(j => j.Key).ToList())
        {
            _jobs.Remove(id);
        }
    }

    private bool IsTrustedLocked(Entry entry) => _eventsHealthy
        ? entry.ConfirmedGeneration == _generation
        : entry.ObservedSequence > entry.ReportedSequence && clock.GetElapsedTime(entry.ObservedTimestamp) <= PollingMaxAge;

    private JobDetail ReportLocked(Entry entry)
    {
        entry.ReportedSequence = ++_sequence;
        entry.Reported = new ReportedState(entry.Key, entry.Key.Status, entry.Version);
        return entry.Detail;
    }

    private void ConfirmLocked(Entry entry, long sequence)
    {
        entry.ObservedSequence = Math.Max(entry.ObservedSequence, sequence);
        entry.ObservedTimestamp = clock.GetTimestamp();
        entry.ConfirmedGeneration = _generation;
    }

    /// <summary>The observation, in the order of the job's life: a later state replaces the known one, the same state fills in what it lacked.</summary>
    private Entry ApplyLocked(string jobId, JobDetail detail, JobStateKey key, string? queue, out bool changed)
    {
        if (!_jobs.TryGetValue(jobId, out var entry))
        {
            entry = new Entry { Detail = detail, Key = key, Queue = queue, Version = ++_version, CreatedSequence = ++_sequence, TouchedTimestamp = clock.GetTimestamp() };
            entry.ChangedSequence = entry.CreatedSequence;
            _jobs[jobId] = entry;
            changed = true;
            return entry;
        }

        entry.Queue ??= queue;
        var order = key.CompareTo(entry.Key);
        changed = order > 0;
        if (order >= 0)
        {
            entry.Detail = Merge(detail, entry.Detail, sameAttempt: key.Attempts == entry.Key.Attempts);
        }

        if (changed)
        {
            entry.Key = key;
            entry.Version = ++_version;
            entry.ChangedSequence = ++_sequence;
        }

        return entry;
    }

    /// <summary>What an observation lacks (a listing has no log stream), taken from the known state of the same attempt.</summary>
    private static JobDetail Merge(JobDetail incoming, JobDetail known, bool sameAttempt) => incoming with
    {
        CreatedAt = incoming.CreatedAt ?? known.CreatedAt,
        Vcpus = incoming.Vcpus ?? known.Vcpus,
        MemoryMiB = incoming.MemoryMiB ?? known.MemoryMiB,
        LogStream = incoming.LogStream ?? (sameAttempt ? known.LogStream : null),
        StartedAt = incoming.StartedAt ?? (sameAttempt ? known.StartedAt : null),
    };
}

using Batchkeeper.Core.Ports;

namespace Batchkeeper.Daemon.Aws.JobStates;

/// <summary>
/// Where one state of a job stands in its life: how many of its attempts had finished (the length of Batch's
/// <c>attempts</c> list) and its status. Batch retries a job by sending it back to RUNNABLE with one more finished
/// attempt, so a job's states are ordered by attempts first, then by status; an ended job (SUCCEEDED or FAILED) ends
/// for good, whatever comes after.
/// </summary>
public readonly record struct JobStateKey(int Attempts, JobStatus Status) : IComparable<JobStateKey>
{
    public bool IsTerminal => !Status.IsActive();

    /// <summary>
    /// The order of a job's life: an ended state is after every active one (a terminal state wins); two ended states by
    /// attempts (a job ends once: the same end seen twice is equal); two active ones by attempts, then status.
    /// </summary>
    public int CompareTo(JobStateKey other)
    {
        if (IsTerminal != other.IsTerminal)
        {
            return IsTerminal ? 1 : -1;
        }

        var byAttempts = Attempts.CompareTo(other.Attempts);
        if (byAttempts != 0 || IsTerminal)
        {
            return byAttempts;
        }

        return Rank(Status).CompareTo(Rank(other.Status));
    }

    /// <summary>Whether <paramref name="incoming"/> is later in the job's life than <paramref name="known"/> (null: nothing known).</summary>
    public static bool IsNewer(JobStateKey incoming, JobStateKey? known) => known is not { } k || incoming.CompareTo(k) > 0;

    /// <summary>
    /// The attempts of a status seen where no attempt count is given (a ListJobs summary): a status before the known one
    /// of an active job is a Batch retry, one attempt later; anything else is the known attempt.
    /// </summary>
    public static int InferAttempts(JobStatus listed, JobStateKey? known) => known switch
    {
        null => 0,
        { IsTerminal: false } k when Rank(listed) < Rank(k.Status) => k.Attempts + 1,
        { } k => k.Attempts,
    };

    /// <summary>SUBMITTED 0 … RUNNING 4, SUCCEEDED and FAILED 5.</summary>
    public static int Rank(JobStatus status) => status switch
    {
        JobStatus.Submitted => 0,
        JobStatus.Pending => 1,
        JobStatus.Runnable => 2,
        JobStatus.Starting => 3,
        JobStatus.Running => 4,
        _ => 5,
    };

    public static bool operator <(JobStateKey left, JobStateKey right) => left.CompareTo(right) < 0;

    public static bool operator >(JobStateKey left, JobStateKey right) => left.CompareTo(right) > 0;

    public static bool operator <=(JobStateKey left, JobStateKey right) => left.CompareTo(right) <= 0;

    public static bool operator >=(JobStateKey left, JobStateKey right) => left.CompareTo(right) >= 0;

    public override string ToString() => $"{Status.ToWire()} after {Attempts} attempts";
}

using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Daemon.JobLogs;

/// <summary>Where a slot's log is: the stream (a file path locally, a CloudWatch Logs stream on AWS) and whether it can be read now.</summary>
/// <param name="Stream">The current job's log stream, else the last attempt's; null when no job has written one.</param>
/// <param name="Local">The workflow runs on the local backend: <paramref name="Stream"/> is a file.</param>
internal sealed record SlotLogLocation(string? Stream, bool Local)
{
    /// <summary>There is something to read: a CloudWatch stream is named, or the local file exists.</summary>
    public bool Readable => Stream is not null && (!Local || File.Exists(Stream));
}

/// <summary>
/// A slot's log for <c>batchkeeper logs</c> and the status page alike: where it is, why there is none (in a sentence),
/// and whether one is still to come (what <c>logs --follow</c> waits for).
/// </summary>
internal static class SlotLogs
{
    /// <summary>The log of the slot's current job, else of its last attempt; <paramref name="jobId"/> picks an attempt.</summary>
    public static SlotLogLocation Locate(WorkflowSnapshot snapshot, SlotRecord slot, string? jobId = null)
    {
        var stream = jobId is null || jobId == slot.JobId
            ? slot.LogStream ?? slot.LastAttempt?.LogStream
            : slot.History.LastOrDefault(h => h.JobId == jobId)?.LogStream;
        return new SlotLogLocation(stream, snapshot.Backend == LocalBackendName);
    }

    /// <summary>The backend name a local workflow's snapshot carries.</summary>
    public const string LocalBackendName = "Local";

    /// <summary>A job is still to run, or running: waiting for the analysis before it, queued, running, or due for another attempt.</summary>
    public static bool IsStillToCome(SlotRecord slot) =>
        slot.State is SlotState.Waiting or SlotState.Queued or SlotState.Running or SlotState.Retrying;

    /// <summary>The sentence for a slot whose log cannot be shown: its job never ran (and why), is not started yet, or never existed.</summary>
    public static string WhyNone(SlotRecord slot, string? stream, bool follow)
    {
        var which = $"slot {slot.Sample} / {slot.Analysis}";
        var wait = follow || !IsStillToCome(slot) ? "" : "; --follow waits for it";
        var attempt = slot.LastAttempt;
        var jobId = slot.JobId ?? attempt?.JobId;
        if (slot.State == SlotState.Invalid)
        {
            return $"{which} has no log: it is invalid, so no job was submitted: {slot.Message}";
        }

        if (jobId is null)
        {
            return slot.State == SlotState.Waiting
                ? $"{which} has no log yet: it waits for the analysis before it{wait}"
                : $"{which} has no log: no job was submitted for it ({slot.State.ToWire()}{(slot.Message is { } m ? $": {m}" : "")})";
        }

        var (started, status, failure, reason) = slot.JobId is not null
            ? (slot.StartedAt, slot.BatchStatus, slot.FailureClass, slot.StatusReason)
            : (attempt!.StartedAt, attempt.Status, attempt.FailureClass, attempt.StatusReason);
        if (started is null && status == "FAILED")
        {
            var why = failure switch
            {
                FailureClass.Blocked => "its dependency failed",
                FailureClass.Cancelled => "it was cancelled first",
                _ => "it failed before it started",
            };
            var next = IsStillToCome(slot) ? $"; the slot is {slot.State.ToWire()} for another job{wait}" : "";
            return $"{which}: job {jobId} never ran: {why}{(reason is null ? "" : $" ({reason})")}{next}";
        }

        if (started is null)
        {
            return $"{which} has no log yet: job {jobId} has not started ({status ?? slot.State.ToWire()}){wait}";
        }

        return stream is null
            ? $"{which} has no log yet: job {jobId} is {slot.State.ToWire()}{wait}"
            : $"{which}: the log of job {jobId} ({stream}) is not there: it was never written or has been deleted";
    }
}

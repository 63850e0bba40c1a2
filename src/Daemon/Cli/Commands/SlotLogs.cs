using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Daemon.Cli.Commands;

/// <summary>Why a slot has no log to show, in a sentence, and whether one is still to come (what <c>logs --follow</c> waits for).</summary>
internal static class SlotLogs
{
    /// <summary>A job is still to run, or running: waiting for the analysis before it, queued, running, or due for another attempt.</summary>
    public static bool IsStillToCome(SlotRecord slot) =>
        slot.State is SlotState.Waiting or SlotState.Queued or SlotState.Running or SlotState.Retrying;

    /// <summary>The sentence for a slot whose log cannot be shown: its job never ran (and why), is not started yet, or never existed.</summary>
    public static string WhyNone(SlotRecord slot, string? stream, bool follow)
    {
        var which = $"slot {slot.Sample} / {slot.Analysis}";
        var wait = follow || !IsStillToCome(slot) ? "" : "; --follow waits for it";
        var attempt = slot.History.LastOrDefault();
        var jobId = slot.JobId ?? attempt?.JobId;
        if (slot.State == SlotState.Invalid)
        {
            return $"{which} has no log: it is invalid, so no job was submitted: {slot.Message}";
        }

        if (jobId is null)
        {
            return slot.State == SlotState.Waiting
                ? $"{which} has no log yet: it waits for the analysis before it{wait}"
                : $"{which} has no log: no job was submitted for it ({CliFormat.Wire(slot.State)}{(slot.Message is { } m ? $": {m}" : "")})";
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
            var next = IsStillToCome(slot) ? $"; the slot is {CliFormat.Wire(slot.State)} for another job{wait}" : "";
            return $"{which}: job {jobId} never ran: {why}{(reason is null ? "" : $" ({reason})")}{next}";
        }

        if (started is null)
        {
            return $"{which} has no log yet: job {jobId} has not started ({status ?? CliFormat.Wire(slot.State)}){wait}";
        }

        return stream is null
            ? $"{which} has no log yet: job {jobId} is {CliFormat.Wire(slot.State)}{wait}"
            : $"{which}: the log of job {jobId} ({stream}) is not there: it was never written or has been deleted";
    }
}

using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Daemon.Notifications;

/// <summary>What was told of one workflow, so that each thing is told once: kept on disk across restarts.</summary>
public sealed class WorkflowTold
{
    /// <summary>Slots failed for good that were told, by slot, with the failure that was told (job and attempt).</summary>
    public Dictionary<string, string> Failed { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Slots told stuck, by slot, with the job that was stuck.</summary>
    public Dictionary<string, string> Stuck { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How many times the workflow was told complete; true while it still is.</summary>
    public int Completions { get; set; }
    public bool Complete { get; set; }

    /// <summary>How many times it was told blocked; true while it still is.</summary>
    public int Blockings { get; set; }
    public bool Blocked { get; set; }

    /// <summary>How many times a persisting error was told; true while errors persist.</summary>
    public int ErrorReports { get; set; }
    public bool ErrorReported { get; set; }
}

/// <summary>
/// Finds what needs a person in a workflow's snapshot after a pass, against what was told of it before: a slot that
/// failed for good, a job stuck, the workflow complete or blocked, errors that persist. These are transitions, not
/// states: each is found once, and found again only after it ended (a retried slot that fails again, a workflow that
/// gained samples and completed again). Comparing with what was told, rather than with the previous snapshot, is what
/// makes a restart tell nothing twice and lose nothing: the memory of what was told is written after the events are
/// in the outbox, and an event found again after a crash between the two has the same id.
/// </summary>
public static class EventDetector
{
    /// <summary>A persisting error is told after this many passes in a row with errors.</summary>
    public const int ErrorPasses = 3;

    private static readonly SlotState[] CanProgress = [SlotState.Waiting, SlotState.Queued, SlotState.Running, SlotState.Verifying, SlotState.Retrying];

    /// <param name="errorPasses">Passes in a row with errors so far, this one included (kept in memory by the caller).</param>
    public static List<NotificationEvent> Detect(string projectsRoot, WorkflowSnapshot snapshot, WorkflowTold told, int errorPasses, DateTimeOffset now)
    {
        var events = new List<NotificationEvent>();
        var workflowPath = Path.Combine(Path.GetFileName(Path.TrimEndingDirectorySeparator(projectsRoot)), snapshot.Project, snapshot.File);
        var status = $"batchkeeper status {workflowPath}";
        var where = $"{snapshot.Project}/{snapshot.File}";
        NotificationEvent Workflow(string type, string summary, params object?[] idParts) => new()
        {
            Id = NotificationEvent.IdOf([type, where, .. idParts]),
            Type = type,
            Time = now,
            Summary = summary,
            Project = snapshot.Project,
            Workflow = snapshot.Workflow,
            File = snapshot.File,
            Counts = snapshot.Summary,
            Commands = [status],
        };

        var failed = new HashSet<string>(StringComparer.Ordinal);
        var stuck = new HashSet<string>(StringComparer.Ordinal);
        foreach (var slot in snapshot.Slots)
        {
            var key = $"{slot.Sample}\u001f{slot.Analysis}";
            var last = slot.History.Count > 0 ? slot.History[^1] : null;
            if (slot.State == SlotState.FailedPermanently)
            {
                failed.Add(key);
                var failure = $"{last?.JobId}:{slot.Attempt}:{slot.FailureClass}";
                if (!told.Failed.TryGetValue(key, out var toldFailure) || toldFailure != failure)
                {
                    told.Failed[key] = failure;
                    events.Add(Slot(NotificationEvents.SlotFailed, $"{slot.Sample} / {slot.Analysis} failed for good: {slot.Message}", failure));
                }
            }

            if (slot.Stuck && slot.JobId is { } stuckJob)
            {
                stuck.Add(key);
                if (!told.Stuck.TryGetValue(key, out var toldJob) || toldJob != stuckJob)
                {
                    told.Stuck[key] = stuckJob;
                    events.Add(Slot(NotificationEvents.SlotStuck, $"{slot.Sample} / {slot.Analysis} is stuck: {slot.Message}", stuckJob));
                }
            }

            NotificationEvent Slot(string type, string summary, string idPart) => Workflow(type, summary, slot.Sample, slot.Analysis, idPart) with
            {
                Sample = slot.Sample,
                Analysis = slot.Analysis,
                JobName = slot.JobName,
                JobId = slot.JobId ?? last?.JobId,
                Queue = last?.Queue,
                Status = last?.Status ?? slot.BatchStatus,
                Reason = string.Join("; ", new[] { slot.StatusReason, slot.ContainerReason }.Where(r => !string.IsNullOrWhiteSpace(r)).Distinct()) is { Length: > 0 } r ? r : slot.Message,
                ExitCode = slot.ExitCode,
                FailureClass = slot.FailureClass?.ToWire(),
                Attempt = slot.Attempt,
                MaxAttempts = slot.MaxAttempts,
                LogStream = slot.LogStream ?? last?.LogStream,
                LogPath = snapshot.Backend == "Local" ? slot.LogStream ?? last?.LogStream : null,
                Commands = [status, $"batchkeeper logs {workflowPath} --sample {slot.Sample} --analysis {slot.Analysis}"],
            };
        }

        Forget(told.Failed, failed);
        Forget(told.Stuck, stuck);

        var s = snapshot.Summary;
        var complete = s.Total > 0 && s.Complete == s.Total;
        if (complete && !told.Complete)
        {
            told.Completions++;
            events.Add(Workflow(NotificationEvents.WorkflowComplete, $"{where}: all {s.Total} slots complete", told.Completions, snapshot.DefinitionSha256));
        }

        told.Complete = complete;

        var blocked = !complete && !snapshot.Cancel && s.Total > 0 && !snapshot.Slots.Any(slot => CanProgress.Contains(slot.State));
        if (blocked && !told.Blocked)
        {
            told.Blockings++;
            events.Add(Workflow(NotificationEvents.WorkflowBlocked,
                $"{where}: nothing left can progress ({s.Complete}/{s.Total} complete, {s.Failed} failed for good, {s.Blocked} blocked, {s.Invalid} invalid)", told.Blockings));
        }

        told.Blocked = blocked;

        if (snapshot.Errors.Count == 0)
        {
            told.ErrorReported = false;
        }
        else if (errorPasses >= ErrorPasses && !told.ErrorReported)
        {
            told.ErrorReports++;
            told.ErrorReported = true;
            events.Add(Workflow(NotificationEvents.WorkflowError, $"{where}: {snapshot.Errors[0].Message}", told.ErrorReports) with { Reason = snapshot.Errors[0].Message });
        }

        return events;
    }

    /// <summary>A slot no longer failed (or stuck) is forgotten, so that its next failure is told again.</summary>
    private static void Forget(Dictionary<string, string> told, HashSet<string> still)
    {
        foreach (var key in told.Keys.Where(k => !still.Contains(k)).ToArray())
        {
            told.Remove(key);
        }
    }
}

namespace Batchkeeper.Core.Snapshots;

/// <summary>
/// Whether two snapshots say the same, apart from the times of the pass that made them: <c>reconciled_at</c>,
/// <c>next_reconcile_at</c> and the <c>at</c> of each error, which every pass stamps afresh. A pass whose snapshot says
/// the same as the stored one has nothing to write; anything else (a job id, an attempt, a status, a backoff's
/// <c>next_attempt_at</c>, an applied retry request, an error's message) is content, and is written at once.
/// </summary>
/// <remarks>
/// Field by field rather than serialising both and comparing the bytes: a steady pass shares almost every slot's record
/// with the previous snapshot (see the reconciler's copy on first write), so most slots cost one reference comparison,
/// where serialising would cost the whole file twice. A test walks every property of the snapshot's types, so a field
/// added to them and not here fails it.
/// </remarks>
public static class SnapshotContent
{
    /// <summary>True when <paramref name="next"/> says what <paramref name="stored"/> says, but for the pass's own times.</summary>
    public static bool Same(WorkflowSnapshot? stored, WorkflowSnapshot next)
    {
        ArgumentNullException.ThrowIfNull(next);
        return stored is not null
               && stored.Schema == next.Schema
               && stored.Project == next.Project
               && stored.Workflow == next.Workflow
               && stored.File == next.File
               && stored.DefinitionSha256 == next.DefinitionSha256
               && stored.Backend == next.Backend
               && stored.Cancel == next.Cancel
               && SameSummary(stored.Summary, next.Summary)
               && SameList(stored.Errors, next.Errors, static (a, b) => a.Message == b.Message)
               && SameList(stored.Notes, next.Notes, static (a, b) => a == b)
               && SameList(stored.AppliedRequests, next.AppliedRequests, static (a, b) => a == b)
               && SameList(stored.UnconfirmedSubmissions, next.UnconfirmedSubmissions, static (a, b) => a == b)
               && SameList(stored.Slots, next.Slots, SameSlot);
    }

    private static bool SameSummary(SnapshotSummary a, SnapshotSummary b) =>
        ReferenceEquals(a, b)
        || (a.Total == b.Total && a.Complete == b.Complete && a.Running == b.Running && a.Queued == b.Queued
            && a.Waiting == b.Waiting && a.Retrying == b.Retrying && a.Failed == b.Failed && a.Blocked == b.Blocked
            && a.Invalid == b.Invalid && a.Cancelled == b.Cancelled);

    /// <summary>A record the pass shared with the previous snapshot is the same by reference: the usual case.</summary>
    private static bool SameSlot(SlotRecord a, SlotRecord b) =>
        ReferenceEquals(a, b)
        || (a.Sample == b.Sample && a.Analysis == b.Analysis && a.State == b.State && a.Message == b.Message
            && a.JobName == b.JobName && a.JobId == b.JobId && a.BatchStatus == b.BatchStatus
            && a.Attempt == b.Attempt && a.MaxAttempts == b.MaxAttempts && a.Interruptions == b.Interruptions
            && a.FailureClass == b.FailureClass && a.StatusReason == b.StatusReason && a.ContainerReason == b.ContainerReason
            && a.ExitCode == b.ExitCode && a.LogStream == b.LogStream && a.Vcpus == b.Vcpus && a.Memory == b.Memory
            && a.SubmittedAt == b.SubmittedAt && a.StartedAt == b.StartedAt && a.StoppedAt == b.StoppedAt
            && a.NextAttemptAt == b.NextAttemptAt && a.RunnableSince == b.RunnableSince && a.Stuck == b.Stuck
            && SameList(a.Outputs, b.Outputs, static (x, y) => x.Uri == y.Uri && x.Exists == y.Exists)
            && SameList(a.History, b.History, SameAttempt));

    private static bool SameAttempt(AttemptRecord a, AttemptRecord b) =>
        ReferenceEquals(a, b)
        || (a.JobId == b.JobId && a.Queue == b.Queue && a.Attempt == b.Attempt && a.Status == b.Status
            && a.FailureClass == b.FailureClass && a.StatusReason == b.StatusReason && a.ContainerReason == b.ContainerReason
            && a.ExitCode == b.ExitCode && a.Vcpus == b.Vcpus && a.Memory == b.Memory && a.LogStream == b.LogStream
            && a.SubmittedAt == b.SubmittedAt && a.StartedAt == b.StartedAt && a.StoppedAt == b.StoppedAt && a.Settled == b.Settled);

    private static bool SameList<T>(IReadOnlyList<T> a, IReadOnlyList<T> b, Func<T, T, bool> same)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a.Count != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count; i++)
        {
            if (!same(a[i], b[i]))
            {
                return false;
            }
        }

        return true;
    }
}

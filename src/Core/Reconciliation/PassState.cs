using System.Collections.Concurrent;
using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Reconciliation;

/// <summary>The working state of one pass.</summary>
internal sealed class PassState(WorkflowPlan plan, DateTimeOffset now, CancellationToken stopSubmitting)
{
    private readonly ConcurrentQueue<string> _errors = new();
    private int _submitted;
    private volatile bool _halted;

    public WorkflowPlan Plan { get; } = plan;
    public DateTimeOffset Now { get; } = now;

    /// <summary>When the snapshot this pass starts from was reconciled; null when there is none.</summary>
    public DateTimeOffset? PreviousReconciledAt { get; init; }
    public IReadOnlyList<PlannedSlot> Slots => Plan.Slots;
    public SlotRecord[] Records { get; } = new SlotRecord[plan.Slots.Count];
    public List<string> AppliedRequests { get; } = [];

    /// <summary>Job names whose submission may or may not have happened; guarded, since chains submit in parallel.</summary>
    public HashSet<string> Unconfirmed { get; } = new(StringComparer.Ordinal);

    public void AddUnconfirmed(string jobName)
    {
        lock (Unconfirmed)
        {
            Unconfirmed.Add(jobName);
        }
    }

    public string Project => Plan.Location.Project;
    public string Workflow => Plan.WorkflowName;
    public bool SubmissionsHalted => _halted || stopSubmitting.IsCancellationRequested;
    public int Submitted => _submitted;
    public IEnumerable<string> Errors => _errors;

    public void HaltSubmissions(string error)
    {
        _halted = true;
        _errors.Enqueue(error);
    }

    public void CountSubmission() => Interlocked.Increment(ref _submitted);

    /// <summary>
    /// Slots whose job is worth describing: every one not complete, and, once, a slot that completed while its
    /// job was last seen active, so that its final status, times and log stream are recorded.
    /// </summary>
    public int[] WithActiveJob() =>
        Enumerable.Range(0, Records.Length)
            .Where(i => Slots[i].Spec is not null && Records[i].JobId is not null
                        && (Records[i].State != SlotState.Complete || Records[i].BatchStatus is null || JobStatuses.Parse(Records[i].BatchStatus!).IsActive()))
            .ToArray();

    public IEnumerable<IReadOnlyList<int>> Chains()
    {
        var width = Plan.Analyses.Count;
        for (var start = 0; start < Records.Length; start += width)
        {
            yield return Enumerable.Range(start, width).ToArray();
        }
    }
}

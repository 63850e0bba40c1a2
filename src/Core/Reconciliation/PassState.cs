using System.Collections.Concurrent;
using Batchkeeper.Core.Passes;
using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Reconciliation;

/// <summary>
/// The working state of one pass. A slot's record starts as the previous snapshot's own object, shared, and is copied
/// the first time a step changes it (<see cref="Edit"/>): in a steady pass almost nothing changes, so the new snapshot
/// costs little more memory than the old one, and the old one is never edited.
/// </summary>
internal sealed class PassState
{
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly CancellationToken _stopSubmitting;
    private readonly SlotRecord[] _records;
    private readonly SlotRecord?[] _before;
    private readonly bool[] _owned;
    private int _submitted;
    private volatile bool _halted;

    public PassState(WorkflowPlan plan, DateTimeOffset now, CancellationToken stopSubmitting)
    {
        Plan = plan;
        Now = now;
        _stopSubmitting = stopSubmitting;
        _records = new SlotRecord[plan.Slots.Count];
        _before = new SlotRecord?[plan.Slots.Count];
        _owned = new bool[plan.Slots.Count];
        OutputsExist = new bool[plan.Slots.Count];
        OutputsDeferred = new bool[plan.Slots.Count];
    }

    public WorkflowPlan Plan { get; }
    public DateTimeOffset Now { get; }

    /// <summary>When the snapshot this pass starts from was reconciled; null when there is none.</summary>
    public DateTimeOffset? PreviousReconciledAt { get; init; }
    public IReadOnlyList<PlannedSlot> Slots => Plan.Slots;

    /// <summary>The slots' records, to read. A step that changes one takes it through <see cref="Edit"/>.</summary>
    public IReadOnlyList<SlotRecord> Records => _records;
    public int Count => _records.Length;

    /// <summary>Per slot: every output was found to exist in this pass's check (step 2).</summary>
    public bool[] OutputsExist { get; }

    /// <summary>
    /// Per slot: its job was active when step 2 ran, so its outputs were not looked at then; they are, in step 4, once
    /// the job is seen to have ended.
    /// </summary>
    public bool[] OutputsDeferred { get; }
    public List<string> AppliedRequests { get; } = [];

    /// <summary>Job names whose submission may or may not have happened; guarded, since chains submit in parallel.</summary>
    public HashSet<string> Unconfirmed { get; } = new(StringComparer.Ordinal);

    public string Project => Plan.Location.Project;
    public string Workflow => Plan.WorkflowName;
    public bool SubmissionsHalted => _halted || _stopSubmitting.IsCancellationRequested;
    public int Submitted => _submitted;
    public IEnumerable<string> Errors => _errors;

    /// <summary>Slot <paramref name="i"/> starts from <paramref name="before"/> (the previous snapshot's record of it), shared.</summary>
    public void Share(int i, SlotRecord before)
    {
        _before[i] = before;
        _records[i] = before;
    }

    /// <summary>Slot <paramref name="i"/> starts from a record of this pass's own; <paramref name="before"/> is what it replaces.</summary>
    public void Own(int i, SlotRecord record, SlotRecord? before)
    {
        _before[i] = before;
        _records[i] = record;
        _owned[i] = true;
    }

    /// <summary>
    /// The record of slot <paramref name="i"/>, to change: copied from the previous snapshot's the first time. Chains run
    /// in parallel but each touches only its own slots, so this needs no lock.
    /// </summary>
    public SlotRecord Edit(int i)
    {
        if (!_owned[i])
        {
            _records[i] = _records[i].Copy();
            _owned[i] = true;
        }

        return _records[i];
    }

    public void AddUnconfirmed(string jobName)
    {
        lock (Unconfirmed)
        {
            Unconfirmed.Add(jobName);
        }
    }

    public void HaltSubmissions(string error)
    {
        _halted = true;
        _errors.Enqueue(error);
    }

    public void CountSubmission() => Interlocked.Increment(ref _submitted);

    /// <summary>
    /// The slots whose state or job changed in this pass. Only a slot this pass owns can have changed: the others are
    /// the previous snapshot's records themselves, so the diff costs one comparison per changed slot.
    /// </summary>
    public IReadOnlyList<SlotTransition> Transitions()
    {
        List<SlotTransition>? changes = null;
        for (var i = 0; i < _records.Length; i++)
        {
            if (!_owned[i])
            {
                continue;
            }

            var slot = _records[i];
            var before = _before[i];
            if (before is not null && before.State == slot.State && before.JobId == slot.JobId)
            {
                continue;
            }

            (changes ??= []).Add(new SlotTransition(slot.Sample, slot.Analysis, before?.State, slot.State, slot.JobId, slot.FailureClass, slot.Message));
        }

        return changes ?? (IReadOnlyList<SlotTransition>)[];
    }

    /// <summary>
    /// Slots whose job is worth describing: every one not complete, and, once, a slot that completed while its
    /// job was last seen active, so that its final status, times and log stream are recorded.
    /// </summary>
    public int[] WithActiveJob() =>
        Enumerable.Range(0, _records.Length)
            .Where(i => Slots[i].Spec is not null && _records[i].JobId is not null
                        && (_records[i].State != SlotState.Complete || _records[i].BatchStatus is null || JobStatuses.Parse(_records[i].BatchStatus!).IsActive()))
            .ToArray();

    /// <summary>Each sample's chain: its slots, one per analysis in order, are consecutive in the plan.</summary>
    public IEnumerable<Chain> Chains()
    {
        var width = Plan.Analyses.Count;
        for (var start = 0; start < _records.Length; start += width)
        {
            yield return new Chain(start, Math.Min(width, _records.Length - start));
        }
    }
}

/// <summary>
/// One sample's chain, slots <see cref="Start"/> to <see cref="Start"/> + <see cref="Count"/> - 1 of the plan. A value,
/// not a list: a pass walks every chain twice, and an array of indexes for each (with its range iterator, and a closure
/// to test it) was about a tenth of what the start-up of 3,000,000 slots allocated.
/// </summary>
internal readonly record struct Chain(int Start, int Count)
{
    /// <summary>The plan index of the chain's <paramref name="k"/>th slot.</summary>
    public int this[int k] => Start + k;

    /// <summary>Where slot <paramref name="i"/> of the plan is in this chain.</summary>
    public int PositionOf(int i) =>
        i >= Start && i < Start + Count ? i - Start : throw new InvalidOperationException("slot not in its chain");
}

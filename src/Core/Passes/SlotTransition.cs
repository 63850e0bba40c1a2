using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Passes;

/// <summary>
/// One slot's change in one pass: its state or its job changed. <see cref="From"/> is null for a slot new in this
/// pass; <see cref="Reason"/> is the slot's message after the pass. Notifications, the status page and metrics are
/// built on these, never on whole snapshots.
/// </summary>
public sealed record SlotTransition(
    string Sample,
    string Analysis,
    SlotState? From,
    SlotState To,
    string? JobId,
    FailureClass? FailureClass,
    string? Reason);

/// <summary>The state and job of every slot, captured as values (a snapshot's records are mutable objects).</summary>
public sealed class SlotStates
{
    private readonly Dictionary<(string Sample, string Analysis), (SlotState State, string? JobId)> _slots;

    private SlotStates(Dictionary<(string Sample, string Analysis), (SlotState State, string? JobId)> slots) => _slots = slots;

    /// <summary>No slots: what a workflow seen for the first time had before its first pass.</summary>
    public static SlotStates None { get; } = new([]);

    public int Count => _slots.Count;

    public static SlotStates Of(WorkflowSnapshot? snapshot)
    {
        if (snapshot is null)
        {
            return None;
        }

        var slots = new Dictionary<(string, string), (SlotState, string?)>(snapshot.Slots.Count);
        foreach (var slot in snapshot.Slots)
        {
            slots[(slot.Sample, slot.Analysis)] = (slot.State, slot.JobId);
        }

        return new SlotStates(slots);
    }

    /// <summary>
    /// The slots of <paramref name="after"/> whose state or job id differs from what was captured before, in the
    /// snapshot's order. A slot that left the workflow (its sample or analysis removed) is no transition: it is gone.
    /// </summary>
    public IReadOnlyList<SlotTransition> To(WorkflowSnapshot after)
    {
        List<SlotTransition>? changes = null;
        foreach (var slot in after.Slots)
        {
            SlotState? from = null;
            if (_slots.TryGetValue((slot.Sample, slot.Analysis), out var before))
            {
                if (before.State == slot.State && before.JobId == slot.JobId)
                {
                    continue;
                }

                from = before.State;
            }

            (changes ??= []).Add(new SlotTransition(slot.Sample, slot.Analysis, from, slot.State, slot.JobId, slot.FailureClass, slot.Message));
        }

        return changes ?? (IReadOnlyList<SlotTransition>)[];
    }
}

using Batchkeeper.Core.Passes;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Tests.Passes;

public sealed class SlotStatesTests
{
    private static SlotRecord Slot(string sample, SlotState state, string? jobId = null) =>
        new() { Sample = sample, Analysis = "a", State = state, JobId = jobId };

    private static WorkflowSnapshot Snapshot(params SlotRecord[] slots) => new() { Slots = [.. slots] };

    [Fact]
    public void To_ReportsOnlySlotsWhoseStateOrJobChanged_InSnapshotOrder()
    {
        var before = SlotStates.Of(Snapshot(Slot("s1", SlotState.Running, "j1"), Slot("s2", SlotState.Queued, "j2"), Slot("s3", SlotState.Retrying, "j3")));

        var changes = before.To(Snapshot(
            Slot("s1", SlotState.Running, "j1"),          // unchanged
            Slot("s2", SlotState.Complete, "j2"),         // state changed
            Slot("s3", SlotState.Retrying, "j4"),         // resubmitted: same state, new job
            Slot("s4", SlotState.Waiting)));              // new in this pass

        Assert.Equal(
            [("s2", (SlotState?)SlotState.Queued, SlotState.Complete, "j2"), ("s3", SlotState.Retrying, SlotState.Retrying, "j4"), ("s4", null, SlotState.Waiting, null)],
            changes.Select(c => (c.Sample, c.From, c.To, c.JobId)).ToArray());
    }

    [Fact]
    public void Of_CapturesValues_SoEditingTheSnapshotAfterwardsIsStillSeenAsAChange()
    {
        var snapshot = Snapshot(Slot("s1", SlotState.Running, "j1"));
        var before = SlotStates.Of(snapshot);

        snapshot.Slots[0].State = SlotState.FailedPermanently;
        snapshot.Slots[0].FailureClass = FailureClass.Misconfigured;
        snapshot.Slots[0].Message = "no such job definition";

        var change = Assert.Single(before.To(snapshot));
        Assert.Equal(new SlotTransition("s1", "a", SlotState.Running, SlotState.FailedPermanently, "j1", FailureClass.Misconfigured, "no such job definition"), change);
    }

    [Fact]
    public void None_MakesEverySlotOfTheFirstPassNew()
    {
        var changes = SlotStates.Of(null).To(Snapshot(Slot("s1", SlotState.Waiting), Slot("s2", SlotState.Queued, "j2")));

        Assert.All(changes, c => Assert.Null(c.From));
        Assert.Equal(2, changes.Count);
    }
}

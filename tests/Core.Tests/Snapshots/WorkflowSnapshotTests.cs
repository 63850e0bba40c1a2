using System.Text.Json;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Tests.Snapshots;

public sealed class WorkflowSnapshotTests
{
    [Theory]
    [InlineData(SlotState.Waiting, "waiting")]
    [InlineData(SlotState.Queued, "queued")]
    [InlineData(SlotState.Running, "running")]
    [InlineData(SlotState.Verifying, "verifying")]
    [InlineData(SlotState.Retrying, "retrying")]
    [InlineData(SlotState.Complete, "complete")]
    [InlineData(SlotState.FailedPermanently, "failed_permanently")]
    [InlineData(SlotState.Blocked, "blocked")]
    [InlineData(SlotState.Invalid, "invalid")]
    [InlineData(SlotState.Cancelled, "cancelled")]
    public void SlotState_IsWrittenInSnakeCase(SlotState state, string wire)
    {
        Assert.Equal($"\"{wire}\"", JsonSerializer.Serialize(state, SnapshotJson.Options));
        Assert.Equal(state, JsonSerializer.Deserialize<SlotState>($"\"{wire}\"", SnapshotJson.Options));
    }

    [Theory]
    [InlineData(FailureClass.Interrupted, "interrupted")]
    [InlineData(FailureClass.OutOfMemory, "out_of_memory")]
    [InlineData(FailureClass.TimedOut, "timed_out")]
    [InlineData(FailureClass.Misconfigured, "misconfigured")]
    [InlineData(FailureClass.Blocked, "blocked")]
    [InlineData(FailureClass.Failed, "failed")]
    [InlineData(FailureClass.SucceededWithoutOutputs, "succeeded_without_outputs")]
    [InlineData(FailureClass.Cancelled, "cancelled")]
    public void FailureClass_IsWrittenInSnakeCase(FailureClass failure, string wire)
    {
        Assert.Equal($"\"{wire}\"", JsonSerializer.Serialize(failure, SnapshotJson.Options));
    }

    [Fact]
    public void Snapshot_JsonForm_UsesTheDesignsFieldNamesAndKeepsNulls()
    {
        var snapshot = new WorkflowSnapshot
        {
            Project = "demo", Workflow = "wf", File = "wf.json", Backend = "Local",
            Slots = [new SlotRecord { Sample = "s1", Analysis = "count", State = SlotState.FailedPermanently, JobId = "job-1", MaxAttempts = 3, FailureClass = FailureClass.OutOfMemory }],
        };
        snapshot.Summary = SnapshotSummary.Of(snapshot.Slots);

        using var json = JsonDocument.Parse(JsonSerializer.Serialize(snapshot, SnapshotJson.Options));
        var root = json.RootElement;

        Assert.Equal("batchkeeper.status/1", root.GetProperty("schema").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("definition_sha256").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("next_reconcile_at").ValueKind);
        Assert.Equal(1, root.GetProperty("summary").GetProperty("failed").GetInt32());
        var slot = root.GetProperty("slots")[0];
        Assert.Equal("failed_permanently", slot.GetProperty("state").GetString());
        Assert.Equal("out_of_memory", slot.GetProperty("failure_class").GetString());
        Assert.Equal("job-1", slot.GetProperty("job_id").GetString());
        Assert.Equal(3, slot.GetProperty("max_attempts").GetInt32());
        Assert.Equal(JsonValueKind.Null, slot.GetProperty("exit_code").ValueKind);
        Assert.Equal(JsonValueKind.Null, slot.GetProperty("next_attempt_at").ValueKind);
        Assert.Equal(JsonValueKind.Array, slot.GetProperty("history").ValueKind);
    }

    [Fact]
    public void Summary_CountsVerifyingAsRunning_AndEveryStateOnce()
    {
        var states = Enum.GetValues<SlotState>();

        var summary = SnapshotSummary.Of(states.Select(s => new SlotRecord { State = s }));

        Assert.Equal(states.Length, summary.Total);
        Assert.Equal(2, summary.Running);
        Assert.Equal(
            [1, 1, 1, 1, 1, 1, 1, 1, 1],
            new[] { summary.Complete, summary.Queued, summary.Waiting, summary.Retrying, summary.Failed, summary.Blocked, summary.Invalid, summary.Cancelled, summary.Running - 1 });
    }
}

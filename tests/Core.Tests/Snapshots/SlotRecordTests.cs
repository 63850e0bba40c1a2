using System.Text.Json;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Core.Tests.Snapshots;

/// <summary>
/// The slot record keeps rarely set fields in a second object made on demand, and no history list until it has an
/// attempt (issue 19's memory per slot): none of that may show in what it says, in JSON or to a copy.
/// </summary>
public sealed class SlotRecordTests
{
    private static readonly string[] SnapshotFieldOrder =
    [
        "sample", "analysis", "state", "message", "job_name", "job_id", "batch_status", "attempt", "max_attempts",
        "interruptions", "failure_class", "status_reason", "container_reason", "exit_code", "log_stream", "vcpus", "memory",
        "outputs", "submitted_at", "started_at", "stopped_at", "next_attempt_at", "runnable_since", "stuck", "history",
    ];

    private static SlotRecord EveryFieldSet()
    {
        var slot = new SlotRecord
        {
            Sample = "s1", Analysis = "align", State = SlotState.Retrying, Message = "retry at 10:00", JobName = "bk-wf-align-s1-0123456789",
            JobId = "job-2", BatchStatus = "FAILED", Attempt = 2, MaxAttempts = 3, Interruptions = 1, FailureClass = FailureClass.OutOfMemory,
            StatusReason = "Essential container in task exited", ContainerReason = "OutOfMemoryError: Container killed", ExitCode = 137,
            LogStream = "align/default/abc", Vcpus = 2, Memory = 3072,
            Outputs = [new OutputStatus { Uri = "s3://b/s1.bam", Exists = false }, new OutputStatus { Uri = "s3://b/s1.bai", Exists = true }],
            SubmittedAt = new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero),
            StartedAt = new DateTimeOffset(2026, 12, 1, 9, 1, 0, TimeSpan.Zero),
            StoppedAt = new DateTimeOffset(2026, 12, 1, 9, 5, 0, TimeSpan.Zero),
            NextAttemptAt = new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero),
            RunnableSince = new DateTimeOffset(2026, 12, 1, 8, 59, 0, TimeSpan.Zero),
            Stuck = true,
        };
        slot.AddAttempt(new AttemptRecord { JobId = "job-1", Attempt = 1, Status = "FAILED", Queue = "q" });
        slot.AddAttempt(new AttemptRecord { JobId = "job-2", Attempt = 2, Status = "FAILED", Queue = "q" });
        return slot;
    }

    [Fact]
    public void Json_HasEveryFieldInTheSnapshotsOrder_ForAQuietSlotAndABusyOne()
    {
        foreach (var slot in new[] { new SlotRecord { Sample = "s1", Analysis = "align", State = SlotState.Complete }, EveryFieldSet() })
        {
            using var json = JsonDocument.Parse(JsonSerializer.Serialize(slot, SnapshotJson.Options));

            Assert.Equal(SnapshotFieldOrder, json.RootElement.EnumerateObject().Select(p => p.Name));
        }
    }

    [Fact]
    public void Json_RoundTripsEveryField_SoASlotWithDetailAndHistoryReadsBackTheSame()
    {
        var slot = EveryFieldSet();

        var text = JsonSerializer.Serialize(slot, SnapshotJson.Options);
        var back = JsonSerializer.Deserialize<SlotRecord>(text, SnapshotJson.Options)!;

        Assert.Equal(text, JsonSerializer.Serialize(back, SnapshotJson.Options));
        Assert.Equal("retry at 10:00", back.Message);
        Assert.Equal(137, back.ExitCode);
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 8, 59, 0, TimeSpan.Zero), back.RunnableSince);
        Assert.Equal(["job-1", "job-2"], back.History.Select(h => h.JobId));
        Assert.Equal("job-2", back.LastAttempt?.JobId);
    }

    [Fact]
    public void QuietSlot_ReadsDefaults_AndSettingThemBackClearsWhatWasSet()
    {
        var slot = new SlotRecord { Message = "m", StartedAt = DateTimeOffset.UnixEpoch, Interruptions = 2, Stuck = true, ExitCode = 1 };

        slot.Message = null;
        slot.StartedAt = null;
        slot.Interruptions = 0;
        slot.Stuck = false;
        slot.ExitCode = null;

        Assert.Equal(
            JsonSerializer.Serialize(new SlotRecord(), SnapshotJson.Options),
            JsonSerializer.Serialize(slot, SnapshotJson.Options));
        Assert.Empty(new SlotRecord().History);
        Assert.Null(new SlotRecord().LastAttempt);
    }

    [Fact]
    public void Copy_IsDeep_EditingTheCopysDetailOutputsOrHistoryLeavesTheOriginalAsItWas()
    {
        var original = EveryFieldSet();
        var before = JsonSerializer.Serialize(original, SnapshotJson.Options);

        var copy = original.Copy();
        copy.Message = "changed";
        copy.StoppedAt = null;
        copy.Stuck = false;
        copy.Outputs[0].Exists = true;
        copy.History[0].Status = "SUCCEEDED";
        copy.AddAttempt(new AttemptRecord { JobId = "job-3", Attempt = 3 });

        Assert.Equal(before, JsonSerializer.Serialize(original, SnapshotJson.Options));
        Assert.Equal(3, copy.History.Count);
        Assert.True(copy.Outputs[0].Exists);
    }

    [Fact]
    public void CopyOfAQuietSlot_GainsDetailOfItsOwn_WithoutGivingItToTheOriginal()
    {
        var original = new SlotRecord { Sample = "s1", State = SlotState.Complete };

        var copy = original.Copy();
        copy.StatusReason = "why";
        copy.AddAttempt(new AttemptRecord { JobId = "job-1" });

        Assert.Null(original.StatusReason);
        Assert.Empty(original.History);
    }
}

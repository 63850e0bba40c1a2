using System.Text.Json;

namespace Batchkeeper.Core.Snapshots;

/// <summary>A slot state as the snapshot writes it (<c>running</c>, <c>failed_permanently</c>), for messages, tables and the status page.</summary>
public static class SlotStateNames
{
    /// <summary>Every state, in the order a person reads progress: done first, then what moves, then what needs a person.</summary>
    public static IReadOnlyList<SlotState> InProgressOrder { get; } =
    [
        SlotState.Complete, SlotState.Running, SlotState.Queued, SlotState.Verifying, SlotState.Retrying, SlotState.Waiting,
        SlotState.FailedPermanently, SlotState.Blocked, SlotState.Invalid, SlotState.Cancelled,
    ];

    // From the enum's own [JsonStringEnumMemberName]s, once: the snapshot's converter is the one source of the names.
    private static readonly string[] Names = Enum.GetValues<SlotState>().Select(s => JsonSerializer.Serialize(s).Trim('"')).ToArray();

    public static string ToWire(this SlotState state) => Names[(int)state];

    /// <summary>The state written <paramref name="name"/>, or null for a name that is none.</summary>
    public static SlotState? FromWire(string name)
    {
        var i = Array.IndexOf(Names, name);
        return i < 0 ? null : (SlotState)i;
    }
}

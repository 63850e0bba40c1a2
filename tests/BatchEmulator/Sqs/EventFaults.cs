using System.Text.Json.Serialization;

namespace Batchkeeper.BatchEmulator;

public sealed partial record FaultSettings
{
    /// <summary>
    /// Faults of the job-state events and of the SQS endpoint. Default none. Over HTTP it is the member
    /// <c>events</c> of <c>PUT /_emulator/faults</c>, e.g. <c>{"events":{"duplicateRate":0.5,"seed":1}}</c>.
    /// </summary>
    public EventFaultSettings Events { get; init; } = EventFaultSettings.None;

    /// <summary>A problem for each share that is not between 0 and 1.</summary>
    internal static List<string> RateProblems(params (string Name, double Rate)[] rates) =>
        [.. rates.Where(r => r.Rate is < 0 or > 1 || double.IsNaN(r.Rate)).Select(r => $"{r.Name} must be between 0 and 1 (got {r.Rate}).")];
}

/// <summary>
/// What happens to the "Batch Job State Change" events on their way to the events queue, as EventBridge can do it
/// (delivery is at least once and unordered), and faults of the SQS requests. Draws are made for every event that
/// the rule matches, in a sequence of their own seeded from <see cref="FaultSettings.Seed"/>.
/// </summary>
public sealed record EventFaultSettings
{
    /// <summary>No event faults.</summary>
    public static EventFaultSettings None { get; } = new();

    /// <summary>Share (0..1) of events lost: never enqueued (<see cref="EmulatedJobEvent.Dropped"/>).</summary>
    public double DropRate { get; init; }

    /// <summary>Share (0..1) of events enqueued twice: two messages with the same body (the same event id).</summary>
    public double DuplicateRate { get; init; }

    /// <summary>How much later than the original the copy of a duplicated event becomes visible. Default zero.</summary>
    [JsonConverter(typeof(LenientTimeSpanConverter))]
    public TimeSpan DuplicateLag { get; init; }

    /// <summary>
    /// Share (0..1) of events held back until their job's next event has been enqueued, then released right behind
    /// it, so that the older state arrives after the newer one; an event with nothing behind it is released after
    /// <see cref="ReorderHold"/>. A job has at most one event held at a time.
    /// </summary>
    public double ReorderRate { get; init; }

    /// <summary>Longest time an event is held back for reordering. Default 5 s.</summary>
    [JsonConverter(typeof(LenientTimeSpanConverter))]
    public TimeSpan ReorderHold { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Every event becomes visible in the queue this long after its state change. Default zero.</summary>
    [JsonConverter(typeof(LenientTimeSpanConverter))]
    public TimeSpan Delay { get; init; }

    /// <summary>Share (0..1) of SQS requests answered 403 <c>RequestThrottled</c>.</summary>
    public double ThrottleRate { get; init; }

    /// <summary>Share (0..1) of SQS requests answered 500 <c>InternalError</c>.</summary>
    public double ServerErrorRate { get; init; }

    /// <summary>SQS operations (e.g. <c>ReceiveMessage</c>) that the two request faults apply to. Default null: all.</summary>
    public IReadOnlyList<string>? Operations { get; init; }

    /// <summary>Every problem with these settings, empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = FaultSettings.RateProblems(
            (nameof(DropRate), DropRate), (nameof(DuplicateRate), DuplicateRate), (nameof(ReorderRate), ReorderRate),
            (nameof(ThrottleRate), ThrottleRate), (nameof(ServerErrorRate), ServerErrorRate));
        if (DuplicateLag < TimeSpan.Zero || ReorderHold < TimeSpan.Zero || Delay < TimeSpan.Zero)
        {
            problems.Add("DuplicateLag, ReorderHold and Delay must not be negative.");
        }

        problems.AddRange((Operations ?? []).Where(o => !SqsOperations.IsKnown(o))
            .Select(o => $"Unknown operation '{o}' in Operations; known: {string.Join(", ", SqsOperations.All)}."));
        return problems;
    }
}

public sealed partial class EmulatorFaults
{
    // Set with _random (constructor, UpdateCore, Reset): sequences apart from the Batch faults' one and from each
    // other, so that the timing of SQS requests shifts neither the events' draws nor the Batch ones.
    private Random _eventRandom = null!;
    private Random _sqsRandom = null!;

    /// <summary>The fate of one event; the three shares are drawn every time, so that a seed gives the same sequence whatever they are.</summary>
    internal EventDecision DecideEvent()
    {
        lock (_gate)
        {
            var s = _current.Events ?? EventFaultSettings.None;
            var drop = _eventRandom.NextDouble() < s.DropRate;
            var duplicate = _eventRandom.NextDouble() < s.DuplicateRate;
            var hold = _eventRandom.NextDouble() < s.ReorderRate;
            return new EventDecision(drop, duplicate, hold, s.Delay, s.DuplicateLag, s.ReorderHold);
        }
    }

    /// <summary>Whether an SQS request is throttled or failed (never stalled: a long poll waits anyway).</summary>
    internal RequestFaultKind DecideSqsRequest(string operation)
    {
        lock (_gate)
        {
            var s = _current.Events ?? EventFaultSettings.None;
            if (s.Operations is not null && !s.Operations.Contains(operation, StringComparer.OrdinalIgnoreCase))
            {
                return RequestFaultKind.None;
            }

            var throttle = _sqsRandom.NextDouble() < s.ThrottleRate;
            var error = _sqsRandom.NextDouble() < s.ServerErrorRate;
            return throttle ? RequestFaultKind.Throttle : error ? RequestFaultKind.ServerError : RequestFaultKind.None;
        }
    }

    private void ReseedEvents(int? seed)
    {
        _eventRandom = seed is { } value ? new Random(unchecked((value * 31) + 1)) : new Random();
        _sqsRandom = seed is { } other ? new Random(unchecked((other * 31) + 2)) : new Random();
    }
}

internal readonly record struct EventDecision(bool Drop, bool Duplicate, bool Hold, TimeSpan Delay, TimeSpan DuplicateLag, TimeSpan HoldFor);

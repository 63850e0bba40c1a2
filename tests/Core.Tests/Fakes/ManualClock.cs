namespace Batchkeeper.Core.Tests.Fakes;

/// <summary>A clock that only moves when a test moves it.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    /// <summary>A fixed instant for tests that do not care which one.</summary>
    public static readonly DateTimeOffset DefaultStart = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    private DateTimeOffset _now = start;

    public ManualClock()
        : this(DefaultStart)
    {
    }

    public override DateTimeOffset GetUtcNow() => _now;

    public void Set(DateTimeOffset now) => _now = now;

    public void Advance(TimeSpan by) => _now += by;
}

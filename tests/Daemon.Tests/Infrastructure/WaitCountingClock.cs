using Microsoft.Extensions.Time.Testing;

namespace Batchkeeper.Daemon.Tests.Infrastructure;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that counts the timers created on it (each <c>Task.Delay(…, clock)</c> is one), so
/// that a test can wait until the code under test has looked at the clock again after an advance and is waiting
/// once more: the point where "nothing happened yet" can be asserted without a sleep. It also keeps the due time of
/// every timer created with one (a <c>Task.Delay</c>'s), so a test can see how long the code chose to wait.
/// </summary>
internal sealed class WaitCountingClock : FakeTimeProvider
{
    private readonly List<TimeSpan> _dueTimes = [];
    private int _timers;

    public int TimersCreated => Volatile.Read(ref _timers);

    /// <summary>The due times of the timers created set (not those created unset, as a CancellationTokenSource's are).</summary>
    public IReadOnlyList<TimeSpan> DueTimes
    {
        get
        {
            lock (_dueTimes)
            {
                return [.. _dueTimes];
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            lock (_dueTimes)
            {
                _dueTimes.Add(dueTime);
            }
        }

        Interlocked.Increment(ref _timers);
        return base.CreateTimer(callback, state, dueTime, period);
    }

    /// <summary>
    /// Advances the clock, then waits until a new timer is created (the code waits on the clock again) or
    /// <paramref name="actedInstead"/> holds (the code acted instead of waiting: the test's asserts say what is wrong).
    /// </summary>
    public Task AdvanceAndWaitForTheNextWaitAsync(TimeSpan by, Func<bool> actedInstead)
    {
        var before = TimersCreated;
        Advance(by);
        return Eventually.WaitAsync(() => TimersCreated > before || actedInstead(), $"a new wait on the clock after advancing it by {by.TotalMilliseconds} ms");
    }
}

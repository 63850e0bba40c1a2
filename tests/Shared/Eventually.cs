namespace Batchkeeper.Testing;

/// <summary>
/// The one polling helper of the test suites: waits for a condition with a deadline, and fails with a
/// <see cref="TimeoutException"/> saying what never happened and what was last seen. Compiled into each test project
/// (linked from tests/Shared), so every test waits the same way.
/// </summary>
internal static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>How often the condition is looked at: cheap enough for log files, quick enough for in-process state.</summary>
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    /// <summary>Probes until <paramref name="done"/> holds for the value; returns that value.</summary>
    public static async Task<T> WaitAsync<T>(
        Func<Task<T?>> probe, Func<T?, bool> done, string what, TimeSpan? timeout = null, Func<T?, string>? describe = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var last = await probe();
            if (done(last))
            {
                return last!;
            }

            if (clock.Elapsed > limit)
            {
                var seen = describe is not null ? describe(last) : last?.ToString() ?? "nothing";
                throw new TimeoutException($"Timed out after {limit.TotalSeconds:0.#} s waiting for: {what}. Last seen: {seen}");
            }

            await Task.Delay(Interval);
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds.</summary>
    public static Task WaitAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        WaitAsync(() => Task.FromResult<bool?>(condition()), v => v == true, what, timeout);
}

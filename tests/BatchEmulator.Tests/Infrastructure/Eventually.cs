using System.Diagnostics;

namespace Batchkeeper.BatchEmulator.Tests.Infrastructure;

/// <summary>Polls a condition until it holds or a deadline passes (then the test fails, saying what was last seen).</summary>
internal static class Eventually
{
    public static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }

            if (clock.Elapsed > timeout)
            {
                Assert.Fail($"Timed out after {timeout} waiting for {what}; last seen: {value}");
            }

            await Task.Delay(15);
        }
    }
}

namespace Batchkeeper.Daemon.Tests.Infrastructure;

/// <summary>Waits for a condition with a deadline: the test fails with a description of what never happened.</summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public static async Task<T> WaitAsync<T>(Func<Task<T?>> probe, Func<T?, bool> done, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        T? last = default;
        while (DateTime.UtcNow < deadline)
        {
            last = await probe();
            if (done(last))
            {
                return last!;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"Timed out after {(timeout ?? DefaultTimeout).TotalSeconds:0} s waiting for: {what}. Last seen: {Describe(last)}");
    }

    public static Task WaitAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        WaitAsync(() => Task.FromResult<bool?>(condition()), v => v == true, what, timeout);

    private static string Describe(object? value) => value switch
    {
        null => "nothing",
        Batchkeeper.Core.Snapshots.WorkflowSnapshot s => System.Text.Json.JsonSerializer.Serialize(new { s.ReconciledAt, s.Summary, s.Errors, Slots = s.Slots.Select(x => new { x.Sample, x.Analysis, x.State, x.Message }) }),
        _ => value.ToString() ?? "",
    };
}

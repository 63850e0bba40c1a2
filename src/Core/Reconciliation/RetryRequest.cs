namespace Batchkeeper.Core.Reconciliation;

/// <summary>
/// A person's request to give permanently failed slots a fresh budget (<c>batchkeeper retry</c>). A null
/// sample or analysis matches every one. Each request is applied once: its id is remembered in the snapshot.
/// </summary>
public sealed record RetryRequest(string Id, string? Sample, string? Analysis, DateTimeOffset RequestedAt)
{
    public bool Matches(string sample, string analysis) =>
        (Sample is null || Sample == sample) && (Analysis is null || Analysis == analysis);
}

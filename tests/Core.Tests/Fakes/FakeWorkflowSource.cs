using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Reconciliation;
using Batchkeeper.Core.Workflows;

namespace Batchkeeper.Core.Tests.Fakes;

/// <summary>A workflow source that answers what the test set: the read, the retry requests; it records what was consumed.</summary>
public sealed class FakeWorkflowSource : IWorkflowSource
{
    private readonly List<string> _consumed = [];

    /// <summary>What the next reads of the workflow give.</summary>
    public WorkflowRead Read { get; set; } = new WorkflowRead.Gone();

    /// <summary>What the next reads of the retry requests give.</summary>
    public RetryRequestSet Retries { get; set; } = RetryRequestSet.None;

    /// <summary>The versions of retry requests consumed, in order.</summary>
    public IReadOnlyList<string> Consumed => _consumed;

    public int Reads { get; private set; }

    public Task<WorkflowRead> ReadAsync(WorkflowLocation workflow, CancellationToken cancellationToken)
    {
        Reads++;
        return Task.FromResult(Read);
    }

    public Task<IReadOnlyList<Sample>> ReadSamplesAsync(Workflow workflow, WorkflowLocation at, CancellationToken cancellationToken) =>
        throw new NotSupportedException("the pass reads samples through ReadAsync");

    public Task<RetryRequestSet> ReadRetryRequestsAsync(WorkflowLocation workflow, CancellationToken cancellationToken) => Task.FromResult(Retries);

    public Task ConsumeRetryRequestsAsync(WorkflowLocation workflow, string version, CancellationToken cancellationToken)
    {
        _consumed.Add(version);
        return Task.CompletedTask;
    }

    public Task<RetryRequest> AddRetryRequestAsync(
        WorkflowLocation workflow, string? sample, string? analysis, DateTimeOffset now, CancellationToken cancellationToken) =>
        throw new NotSupportedException("the pass never adds retry requests");
}

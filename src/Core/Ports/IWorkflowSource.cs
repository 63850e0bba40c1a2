using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Reconciliation;
using Batchkeeper.Core.Workflows;

namespace Batchkeeper.Core.Ports;

/// <summary>A workflow's definition, its samples and the retry requests people left for it.</summary>
public interface IWorkflowSource
{
    /// <summary>The workflow and its samples, or why they cannot be used now. Never throws for a bad or missing file.</summary>
    Task<WorkflowRead> ReadAsync(WorkflowLocation workflow, CancellationToken cancellationToken);

    /// <summary>The samples, as the workflow says: inline, a named file, or the project's metadata file.</summary>
    /// <exception cref="InputException">The samples cannot be used.</exception>
    Task<IReadOnlyList<Sample>> ReadSamplesAsync(Workflow workflow, WorkflowLocation at, CancellationToken cancellationToken);

    /// <summary>The pending retry requests; an unusable request file is an <see cref="RetryRequestSet.Error"/>, never an exception.</summary>
    Task<RetryRequestSet> ReadRetryRequestsAsync(WorkflowLocation workflow, CancellationToken cancellationToken);

    /// <summary>Drops the requests once applied and saved, unless they changed since <paramref name="version"/> was read.</summary>
    Task ConsumeRetryRequestsAsync(WorkflowLocation workflow, string version, CancellationToken cancellationToken);

    /// <summary>Adds a request (as <c>batchkeeper retry</c> does), atomically. A null sample or analysis matches all.</summary>
    Task<RetryRequest> AddRetryRequestAsync(
        WorkflowLocation workflow, string? sample, string? analysis, DateTimeOffset now, CancellationToken cancellationToken);
}

/// <summary>What reading a workflow gave.</summary>
public abstract record WorkflowRead
{
    private WorkflowRead()
    {
    }

    /// <summary>The definition and its samples, ready to plan.</summary>
    public sealed record Loaded(LoadedWorkflow Workflow) : WorkflowRead;

    /// <summary>The workflow file is gone.</summary>
    public sealed record Gone : WorkflowRead;

    /// <summary>The file or its samples break a rule; <paramref name="WrittenAt"/> tells a half-written file from a broken one.</summary>
    public sealed record Invalid(IReadOnlyList<InputError> Errors, DateTimeOffset WrittenAt) : WorkflowRead;

    /// <summary>The file exists but cannot be read (permissions, an I/O error); the message names the file.</summary>
    public sealed record Unreadable(string Message) : WorkflowRead;
}

/// <summary>The pending retry requests.</summary>
/// <param name="Version">Identifies the content read (null: there is no request file), to consume only what was applied.</param>
/// <param name="Error">The request file is unusable (bad JSON, unreadable): one line naming the file, for the snapshot.</param>
public sealed record RetryRequestSet(IReadOnlyList<RetryRequest> Requests, string? Version, string? Error)
{
    public static RetryRequestSet None { get; } = new([], null, null);
}

using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Ports;

namespace Batchkeeper.Core.Tests.Fakes;

/// <summary>An in-memory <see cref="ISubmissionJournal"/> that records when it was written, relative to the backend's submissions.</summary>
public sealed class FakeSubmissionJournal(FakeJobBackend backend) : ISubmissionJournal
{
    private readonly HashSet<string> _pending = new(StringComparer.Ordinal);

    /// <summary>Every announcement: the names, and how many SubmitJob calls the backend had seen by then.</summary>
    public List<(string[] Names, int SubmitCallsBefore)> Announcements { get; } = [];

    public IReadOnlySet<string> Pending => _pending;

    /// <summary>When set, AnnounceAsync throws it (a full disk).</summary>
    public Exception? AnnounceFailure { get; set; }

    public Task<bool> MayHaveSubmittedAsync(WorkflowLocation workflow, IReadOnlySet<string> jobNames, CancellationToken cancellationToken) =>
        Task.FromResult(_pending.Overlaps(jobNames));

    public Task AnnounceAsync(WorkflowLocation workflow, IReadOnlyCollection<string> jobNames, CancellationToken cancellationToken)
    {
        if (AnnounceFailure is { } failure)
        {
            throw failure;
        }

        if (jobNames.Count > 0)
        {
            Announcements.Add(([.. jobNames], backend.SubmitCalls.Count));
            _pending.UnionWith(jobNames);
        }

        return Task.CompletedTask;
    }

    public Task ClearAsync(WorkflowLocation workflow, CancellationToken cancellationToken)
    {
        _pending.Clear();
        return Task.CompletedTask;
    }
}

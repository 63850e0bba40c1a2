using Batchkeeper.Core.Planning;

namespace Batchkeeper.Core.Ports;

/// <summary>
/// Durable memory of the submissions a pass is about to make, kept until a snapshot that records their job ids has
/// been saved. After a crash, only the jobs named here can exist in the backend without a snapshot knowing them, so
/// only then does a pass have to look for them (Batch ListJobs) before submitting: a pass that nothing interrupted
/// costs no listing at all.
/// </summary>
public interface ISubmissionJournal
{
    /// <summary>
    /// Whether one of these job names was announced for this workflow and not cleared since (so perhaps submitted
    /// without a snapshot recording it). When the journal cannot tell (it cannot be read), true.
    /// </summary>
    Task<bool> MayHaveSubmittedAsync(WorkflowLocation workflow, IReadOnlySet<string> jobNames, CancellationToken cancellationToken);

    /// <summary>Records durably, before any of them is submitted, the job names a pass may submit.</summary>
    Task AnnounceAsync(WorkflowLocation workflow, IReadOnlyCollection<string> jobNames, CancellationToken cancellationToken);

    /// <summary>Forgets what was announced: a snapshot recording every submission made has been saved.</summary>
    Task ClearAsync(WorkflowLocation workflow, CancellationToken cancellationToken);
}

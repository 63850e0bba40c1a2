using System.Text.Json;
using Batchkeeper.Core.Snapshots;

namespace Batchkeeper.Daemon.Web;

/// <summary>
/// The JSON answers of <c>/api/workflows</c> and below, in the snapshot's naming (snake_case). The full snapshot is
/// served as it is (<see cref="SnapshotJson.Options"/>); everything else is cut to what the page needs.
/// </summary>
internal static class WorkflowApi
{
    public const string ListSchema = "batchkeeper.workflows/1";

    /// <summary>The snapshot's naming, not indented: the overview and the grid are read by the page, not by a person.</summary>
    public static JsonSerializerOptions Compact { get; } = new(SnapshotJson.Options) { WriteIndented = false };
}

/// <summary>
/// One workflow of <c>/api/workflows</c>: its snapshot without <c>slots</c> (and without the daemon's own memory,
/// <c>applied_requests</c> and <c>unconfirmed_submissions</c>), plus what the overview shows: <c>states</c> (slots
/// per state, every state named) and <c>failures</c> (failing slots per failure class).
/// </summary>
internal sealed record WorkflowRow(
    string Schema,
    string Id,
    string Project,
    string? Workflow,
    string File,
    string? DefinitionSha256,
    string Backend,
    bool Cancel,
    DateTimeOffset ReconciledAt,
    DateTimeOffset? NextReconcileAt,
    SnapshotSummary Summary,
    IReadOnlyList<SnapshotError> Errors,
    IReadOnlyList<string> Notes,
    IReadOnlyDictionary<string, int> States,
    IReadOnlyDictionary<string, int> Failures)
{
    public static WorkflowRow Of(string id, WorkflowSnapshot s, IReadOnlyDictionary<string, int> states, IReadOnlyDictionary<string, int> failures) =>
        new(s.Schema, id, s.Project, s.Workflow, s.File, s.DefinitionSha256, s.Backend, s.Cancel, s.ReconciledAt, s.NextReconcileAt,
            s.Summary, s.Errors, s.Notes, states, failures);
}

/// <summary><c>/api/workflows</c>: every managed workflow that has had a pass, by project and file.</summary>
/// <param name="Version">The change feed's sequence number the page last heard of (<c>/api/events</c>).</param>
internal sealed record WorkflowList(string Schema, long Version, DateTimeOffset Now, IReadOnlyList<WorkflowRow> Workflows);

/// <summary>One page of the sample × analysis grid: the samples that match the filter, the workflow's row beside them.</summary>
/// <param name="Samples">Samples in the workflow.</param>
/// <param name="Matching">Samples that match the filter, on every page.</param>
internal sealed record GridPage(
    WorkflowRow Workflow,
    IReadOnlyList<string> Analyses,
    int Samples,
    int Matching,
    int Page,
    int PageSize,
    int Pages,
    IReadOnlyList<GridPageRow> Rows);

/// <summary>One grid row: a state per analysis (null where the sample has no slot of that analysis).</summary>
internal sealed record GridPageRow(string Sample, IReadOnlyList<string?> States);

/// <summary>Failing slots (retrying, failed_permanently, blocked, invalid) of one class, reason and exit code.</summary>
/// <param name="Slots">The first of them by name (at most 20); <paramref name="Count"/> counts them all.</param>
internal sealed record FailureGroup(string Class, string Reason, int? ExitCode, int Count, IReadOnlyDictionary<string, int> States, IReadOnlyList<SlotRef> Slots);

internal sealed record SlotRef(string Sample, string Analysis, string State);

internal sealed record FailureList(string Id, int Failing, IReadOnlyList<FailureGroup> Groups);

/// <summary>One slot as the snapshot has it (with every attempt in <c>history</c>), and where its workflow runs.</summary>
internal sealed record SlotAnswer(string Id, string Backend, SlotRecord Slot);

/// <summary>
/// The end of a slot's job log. <paramref name="Source"/> is <c>file</c> (local), <c>cloudwatch</c> or <c>none</c>
/// (then <paramref name="Message"/> says why, in the words of <c>batchkeeper logs</c>).
/// </summary>
/// <param name="Limit">The most bytes sent: older lines are left out past it (<paramref name="Truncated"/>).</param>
internal sealed record LogAnswer(
    string Sample,
    string Analysis,
    string? JobId,
    string Source,
    string? Stream,
    string? LogGroup,
    string? Text,
    bool Truncated,
    long? Bytes,
    int Limit,
    string? Message);

internal sealed record ApiError(string Error);

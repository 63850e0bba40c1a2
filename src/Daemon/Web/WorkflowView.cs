using System.Runtime.CompilerServices;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Registry;

namespace Batchkeeper.Daemon.Web;

/// <summary>
/// What the page shows of one snapshot, worked out once: its overview row, the sample × analysis grid and its
/// failures grouped. A published snapshot never changes (a pass copies the one it starts from before its first write),
/// so a view made of it stays true, and it is kept exactly as long as its snapshot is (a weak table keyed by the
/// snapshot object). A request therefore costs a look-up and a filter, never a walk of every slot of every workflow.
/// </summary>
internal sealed class WorkflowView
{
    /// <summary>The states whose slots need a person's eye: what "failures" counts and groups.</summary>
    public static bool IsFailing(SlotState state) => state is SlotState.Retrying or SlotState.FailedPermanently or SlotState.Blocked or SlotState.Invalid;

    private static readonly ConditionalWeakTable<WorkflowSnapshot, WorkflowView> Views = [];

    private readonly Dictionary<string, int> _rowOf = new(StringComparer.Ordinal);

    private WorkflowView(WorkflowSnapshot snapshot)
    {
        Snapshot = snapshot;
        Id = IdOf(snapshot);
        var analyses = new List<string>();
        var rows = new List<(string Sample, Dictionary<string, SlotRecord> Cells)>();
        var counts = new int[Enum.GetValues<SlotState>().Length];
        var groups = new Dictionary<(string Class, string Reason, int? ExitCode), FailureGroupBuilder>();
        foreach (var slot in snapshot.Slots)
        {
            counts[(int)slot.State]++;
            if (!analyses.Contains(slot.Analysis, StringComparer.Ordinal))
            {
                analyses.Add(slot.Analysis);
            }

            if (!_rowOf.TryGetValue(slot.Sample, out var row))
            {
                row = rows.Count;
                _rowOf[slot.Sample] = row;
                rows.Add((slot.Sample, new Dictionary<string, SlotRecord>(StringComparer.Ordinal)));
            }

            rows[row].Cells[slot.Analysis] = slot;
            if (IsFailing(slot.State))
            {
                var key = Failure(slot);
                if (!groups.TryGetValue(key, out var group))
                {
                    groups[key] = group = new FailureGroupBuilder(key.Class, key.Reason, key.ExitCode);
                }

                group.Add(slot);
            }
        }

        Analyses = analyses;
        Rows = rows.ConvertAll(r => new GridRow(r.Sample, analyses.Select(a => r.Cells.GetValueOrDefault(a)).ToArray()));
        var states = SlotStateNames.InProgressOrder.ToDictionary(s => s.ToWire(), s => counts[(int)s], StringComparer.Ordinal);
        Failures = groups.Values.Select(g => g.Build()).OrderByDescending(g => g.Count).ThenBy(g => g.Class, StringComparer.Ordinal).ThenBy(g => g.Reason, StringComparer.Ordinal).ToArray();
        var byClass = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var group in Failures)
        {
            byClass[group.Class] = byClass.GetValueOrDefault(group.Class) + group.Count;
        }

        Row = WorkflowRow.Of(Id, snapshot, states, byClass);
    }

    public static WorkflowView Of(WorkflowSnapshot snapshot) => Views.GetValue(snapshot, s => new WorkflowView(s));

    /// <summary>
    /// The workflow <paramref name="workflow"/> of <paramref name="project"/>: its file name without <c>.json</c> (or
    /// with it), else its <c>workflow_name</c> when no other workflow of the project has it. Null, with why, otherwise.
    /// </summary>
    public static WorkflowView? Find(IWorkflowChanges changes, string project, string workflow, out string? why)
    {
        var file = workflow.EndsWith(".json", StringComparison.Ordinal) ? workflow : workflow + ".json";
        var inProject = changes.Snapshots.Where(s => s.Project == project).ToArray();
        why = null;
        if (inProject.FirstOrDefault(s => s.File == file) is { } byFile)
        {
            return Of(byFile);
        }

        var named = inProject.Where(s => s.Workflow == workflow).ToArray();
        if (named.Length == 1)
        {
            return Of(named[0]);
        }

        why = named.Length > 1
            ? $"{named.Length} workflows of project '{Core.Workflows.Quoted.Name(project)}' are named '{Core.Workflows.Quoted.Name(workflow)}': name one by its file ({string.Join(", ", named.Select(s => s.File))})"
            : $"no managed workflow '{Core.Workflows.Quoted.Name(workflow)}' in project '{Core.Workflows.Quoted.Name(project)}'";
        return null;
    }

    /// <summary><c>project/file</c>, the file without <c>.json</c>: how the page and the API name a workflow.</summary>
    public static string IdOf(WorkflowSnapshot snapshot) =>
        $"{snapshot.Project}/{(snapshot.File.EndsWith(".json", StringComparison.Ordinal) ? snapshot.File[..^5] : snapshot.File)}";

    public WorkflowSnapshot Snapshot { get; }

    public string Id { get; }

    /// <summary>The analyses in the order of the slots (the workflow's order).</summary>
    public List<string> Analyses { get; }

    /// <summary>One row per sample, in the metadata's order; a cell per analysis (null where the sample has no such slot).</summary>
    public IReadOnlyList<GridRow> Rows { get; }

    /// <summary>The slots that need a person's eye, grouped by failure class, reason and exit code; the largest groups first.</summary>
    public IReadOnlyList<FailureGroup> Failures { get; }

    public WorkflowRow Row { get; }

    public SlotRecord? Slot(string sample, string analysis)
    {
        if (!_rowOf.TryGetValue(sample, out var row))
        {
            return null;
        }

        var column = Analyses.IndexOf(analysis);
        return column < 0 ? null : Rows[row].Cells[column];
    }

    /// <summary>The class, reason and exit code a failing slot is grouped by: its own, else those of its last failed attempt.</summary>
    private static (string Class, string Reason, int? ExitCode) Failure(SlotRecord slot)
    {
        var attempt = slot.History.LastOrDefault(h => h.FailureClass is not null);
        return slot.State switch
        {
            SlotState.Invalid => ("invalid", slot.Message ?? "its templates cannot be expanded", null),
            SlotState.Blocked => ("blocked", slot.Message ?? slot.StatusReason ?? "an analysis before it failed for good", null),
            _ => ((slot.FailureClass ?? attempt?.FailureClass)?.ToWire() ?? "failed",
                slot.ContainerReason ?? slot.StatusReason ?? attempt?.ContainerReason ?? attempt?.StatusReason ?? slot.Message ?? "no reason given",
                slot.ExitCode ?? attempt?.ExitCode),
        };
    }

    private sealed class FailureGroupBuilder(string failureClass, string reason, int? exitCode)
    {
        /// <summary>The slots a group lists by name; the count says how many there are in all.</summary>
        private const int Listed = 20;

        private readonly SortedDictionary<string, int> _states = new(StringComparer.Ordinal);
        private readonly List<SlotRef> _slots = [];
        private int _count;

        public void Add(SlotRecord slot)
        {
            _count++;
            var state = slot.State.ToWire();
            _states[state] = _states.GetValueOrDefault(state) + 1;
            if (_slots.Count < Listed)
            {
                _slots.Add(new SlotRef(slot.Sample, slot.Analysis, state));
            }
        }

        public FailureGroup Build() => new(failureClass, reason, exitCode, _count, _states, _slots);
    }
}

/// <summary>A grid row: the sample and its slots by analysis (null where it has none).</summary>
internal sealed record GridRow(string Sample, SlotRecord?[] Cells);

using System.Threading.Channels;
using Batchkeeper.Core.Passes;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Registry;
using Microsoft.Extensions.Hosting;

namespace Batchkeeper.Daemon.Metrics;

/// <summary>
/// The per-workflow series of <c>/metrics</c>, from the registry's change feed: a pass's snapshot sets its workflow's
/// slots by state, errors and last pass; its transitions count submissions and failed attempts; the workflow's removal
/// drops every series of it. It runs on its own reader of the feed, so a pass never waits for it, and it never calls
/// back into the pass. Only this reader writes the per-workflow series, so they need no lock.
/// </summary>
public sealed class MetricsFeed : BackgroundService
{
    private readonly DaemonMetrics _metrics;
    private readonly CancellationTokenSource _unsubscribe = new();
    private readonly ChannelReader<WorkflowChange> _changes;
    private readonly HashSet<string> _managed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WorkflowSeries> _series = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Project, string Workflow), string> _owners = [];

    public MetricsFeed(IWorkflowChanges changes, DaemonMetrics metrics)
    {
        _metrics = metrics;
        // Subscribed when the host builds its services, before the first pass: every pass is counted, not only the
        // last one of each workflow that a later subscription's replay would give.
        _changes = changes.Subscribe(_unsubscribe.Token);
    }

    /// <summary>The <c>state</c> label: the snapshot summary's names (<c>running</c> includes verifying).</summary>
    internal static IEnumerable<(string State, int Count)> States(SnapshotSummary s) =>
    [
        ("waiting", s.Waiting), ("queued", s.Queued), ("running", s.Running), ("retrying", s.Retrying), ("complete", s.Complete),
        ("failed", s.Failed), ("blocked", s.Blocked), ("invalid", s.Invalid), ("cancelled", s.Cancelled),
    ];

    /// <summary>A slot given a new job in the queue (a transition into queued only happens with a new job).</summary>
    internal static bool IsSubmission(SlotTransition t) => t.To == SlotState.Queued && t.JobId is not null;

    /// <summary>
    /// The class of the failed attempt a transition records, or null: the job the slot had (queued, running or
    /// verifying) ended without completing it (the slot is retrying, failed, waiting, blocked, cancelled, or queued again
    /// with a new job), or the backend refused its submission (failed for good without a job).
    /// </summary>
    internal static FailureClass? FailedAttempt(SlotTransition t)
    {
        if (t.FailureClass is not { } failure)
        {
            return null;
        }

        var hadJob = t.From is SlotState.Queued or SlotState.Running or SlotState.Verifying;
        var jobEnded = hadJob && t.To is not (SlotState.Running or SlotState.Verifying or SlotState.Complete);
        var refused = !hadJob && t.To == SlotState.FailedPermanently && t.From != SlotState.FailedPermanently;
        return jobEnded || refused ? failure : null;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _changes.WaitToReadAsync(stoppingToken))
            {
                while (_changes.TryRead(out var change))
                {
                    Apply(change);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Clean stop.
        }
    }

    public override void Dispose()
    {
        _unsubscribe.Cancel();
        _unsubscribe.Dispose();
        base.Dispose();
    }

    private void Apply(WorkflowChange change)
    {
        switch (change)
        {
            case WorkflowAdded:
                _managed.Add(change.Path);
                break;
            case WorkflowRemoved:
                _managed.Remove(change.Path);
                if (_series.Remove(change.Path, out var gone))
                {
                    Drop(gone);
                }

                break;
            case PassCompleted pass:
                Record(pass);
                break;
        }

        _metrics.Workflows.Set(_managed.Count);
    }

    private void Record(PassCompleted pass)
    {
        var snapshot = pass.Snapshot;
        var labels = LabelsOf(pass.Path, snapshot);
        if (_series.TryGetValue(pass.Path, out var series) && series.Labels != labels)
        {
            Drop(series); // renamed: its old name's series go
            series = null;
        }

        if (series is null)
        {
            series = new WorkflowSeries(labels);
            _series[pass.Path] = series;
            _owners[labels] = pass.Path;
        }

        // The counts first, then the states: a scrape in between sees a failure before the slot it left failed, never after.
        var (project, workflow) = labels;
        var submissions = _metrics.Submissions.WithLabels(project, workflow);
        foreach (var transition in pass.Transitions)
        {
            if (IsSubmission(transition))
            {
                submissions.Inc();
            }

            if (FailedAttempt(transition) is { } failure)
            {
                var wire = failure.ToWire();
                series.Classes.Add(wire);
                _metrics.SlotFailures.WithLabels(project, workflow, wire).Inc();
            }
        }

        foreach (var (state, count) in States(snapshot.Summary))
        {
            _metrics.Slots.WithLabels(project, workflow, state).Set(count);
        }

        _metrics.WorkflowErrors.WithLabels(project, workflow).Set(snapshot.Errors.Count);
        _metrics.LastPass.WithLabels(project, workflow).Set(snapshot.ReconciledAt.ToUnixTimeMilliseconds() / 1000.0);
    }

    /// <summary>
    /// The workflow's name, or its file name when it has none; also the file name when another file of the project
    /// already goes by that name, so that two workflows never share (and overwrite) one series.
    /// </summary>
    private (string Project, string Workflow) LabelsOf(string path, WorkflowSnapshot snapshot)
    {
        var named = (snapshot.Project, string.IsNullOrEmpty(snapshot.Workflow) ? snapshot.File : snapshot.Workflow);
        return _owners.TryGetValue(named, out var owner) && owner != path ? (snapshot.Project, snapshot.File) : named;
    }

    private void Drop(WorkflowSeries series)
    {
        var (project, workflow) = series.Labels;
        foreach (var (state, _) in States(new SnapshotSummary()))
        {
            _metrics.Slots.RemoveLabelled(project, workflow, state);
        }

        _metrics.WorkflowErrors.RemoveLabelled(project, workflow);
        _metrics.LastPass.RemoveLabelled(project, workflow);
        _metrics.Submissions.RemoveLabelled(project, workflow);
        foreach (var failure in series.Classes)
        {
            _metrics.SlotFailures.RemoveLabelled(project, workflow, failure);
        }

        _owners.Remove(series.Labels);
    }

    /// <summary>The labels a workflow's series go by, and the failure classes it has series of.</summary>
    private sealed class WorkflowSeries((string Project, string Workflow) labels)
    {
        public (string Project, string Workflow) Labels { get; } = labels;

        public HashSet<string> Classes { get; } = new(StringComparer.Ordinal);
    }
}

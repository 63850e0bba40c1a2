using Batchkeeper.Core.Passes;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Systemd;
using Microsoft.Extensions.Options;
using Prometheus;

namespace Batchkeeper.Daemon.Metrics;

/// <summary>
/// Every metric of <c>/metrics</c>, in a registry of this daemon's own (not prometheus-net's static default: tests run
/// several daemons in one process). Recording is a counter's or a gauge's update, lock-free, on whoever records (a
/// pass, an AWS attempt, a webhook post); the per-workflow series are kept by <see cref="MetricsFeed"/> from the change
/// feed; what the loop and the lock say now is read when Prometheus scrapes. Registered only when the status server is
/// (<see cref="MetricsServiceCollectionExtensions.AddDaemonMetrics"/>): with <c>Web:Enabled=false</c> nothing records.
/// The README's "Metrics" section lists every name, type, label and help text written here.
/// </summary>
public sealed class DaemonMetrics
{
    /// <summary>What a Prometheus scrape is answered with (text format 0.0.4).</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>A pass takes milliseconds on a small local workflow and up to minutes on thousands of AWS slots; 15 minutes is the stall limit.</summary>
    private static readonly double[] PassBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];

    private readonly Counter _passes;
    private readonly Counter _passFailures;
    private readonly Histogram _passDuration;
    private readonly Counter _requests;
    private readonly Counter _snapshotWriteFailures;
    private readonly Counter _deliveries;

    public DaemonMetrics(LoopHealth health, ProjectsLock projectsLock, IOptions<BatchkeeperOptions> options)
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);

        // process_* and dotnet_*, as a Prometheus user expects of any process; read at scrape time only.
        DotNetStats.Register(Registry);
        var resident = factory.CreateGauge("process_resident_memory_bytes", "Resident memory size in bytes.");

        var version = typeof(DaemonMetrics).Assembly.GetName().Version?.ToString(3) ?? "0";
        factory.CreateGauge("batchkeeper_build_info", "Always 1: the daemon's version and backend as labels.", "version", "backend")
            .WithLabels(version, options.Value.Backend.ToString()).Set(1);
        var lockHeld = factory.CreateGauge("batchkeeper_lock_held", "1 while this daemon holds the projects lock, 0 while it stands by for another.");
        var loopHealthy = factory.CreateGauge(
            "batchkeeper_loop_healthy", "1 while the reconcile loop is alive (or the daemon stands by), 0 when it is stalled: the rule of /healthz and the systemd watchdog.");
        var passesRunning = factory.CreateGauge("batchkeeper_passes_running", "Passes running now.");
        Registry.AddBeforeCollectCallback(() =>
        {
            // The same figure DotNetStats calls process_working_set_bytes (VmRSS on Linux), under the name Prometheus's own clients use.
            resident.Set(Environment.WorkingSet);
            lockHeld.Set(projectsLock.Holds ? 1 : 0);
            loopHealthy.Set(health.Problem(projectsLock) is null ? 1 : 0);
            passesRunning.Set(health.PassesRunning);
        });

        Workflows = factory.CreateGauge("batchkeeper_workflows", "Workflow files managed now.");
        Slots = factory.CreateGauge("batchkeeper_slots", "Slots of a workflow by state, as in its snapshot's summary (running includes verifying).", "project", "workflow", "state");
        WorkflowErrors = factory.CreateGauge("batchkeeper_workflow_errors", "Errors in the workflow's last snapshot (a definition that does not parse, a failed pass).", "project", "workflow");
        LastPass = factory.CreateGauge("batchkeeper_workflow_last_pass_timestamp_seconds", "When the workflow's last pass ran, in seconds since the Unix epoch.", "project", "workflow");
        Submissions = factory.CreateCounter("batchkeeper_submissions_total", "Jobs submitted for the workflow's slots (each slot given a new job in the queue).", "project", "workflow");
        SlotFailures = factory.CreateCounter("batchkeeper_slot_failures_total", "Failed attempts of the workflow's slots by failure class, as the snapshot names it: a job that ended without completing its slot, or a submission the backend refused.", "project", "workflow", "class");

        _passes = factory.CreateCounter("batchkeeper_passes_total", "Passes run, by outcome: ok, failed, read_again_soon (a half-written file), gone (the file was removed).", "outcome");
        _passFailures = factory.CreateCounter(
            "batchkeeper_pass_failures_total", "Failed passes by reason: reconcile (it threw; states kept as last seen), snapshot_write, exception (escaped the pass).", "reason");
        _passDuration = factory.CreateHistogram("batchkeeper_pass_duration_seconds", "How long passes took, in seconds.", new HistogramConfiguration { Buckets = PassBuckets });
        _requests = factory.CreateCounter(
            "batchkeeper_backend_requests_total", "HTTP requests to AWS by service, operation and outcome, every attempt of a retried request included.", "service", "operation", "outcome");
        _snapshotWriteFailures = factory.CreateCounter("batchkeeper_snapshot_write_failures_total", "Writes that failed, by file: status (a workflow's snapshot) or dashboard.", "file");
        _deliveries = factory.CreateCounter(
            "batchkeeper_notification_deliveries_total", "Webhook posts by webhook (its index in Notifications:Webhooks, never its URL) and outcome: delivered, retried, dropped.", "webhook", "outcome");

        // Series that exist from the start, so that a rate over them is defined before the first failure.
        foreach (var outcome in (string[])[PassOutcomes.Ok, PassOutcomes.Failed, PassOutcomes.ReadAgainSoon, PassOutcomes.Gone])
        {
            _passes.WithLabels(outcome);
        }

        foreach (var reason in (string[])[PassFailureReasons.Reconcile, PassFailureReasons.SnapshotWrite, PassFailureReasons.Exception])
        {
            _passFailures.WithLabels(reason);
        }

        _snapshotWriteFailures.WithLabels(SnapshotFile.Status);
        _snapshotWriteFailures.WithLabels(SnapshotFile.Dashboard);
    }

    /// <summary>This daemon's registry: what <c>/metrics</c> exports.</summary>
    public CollectorRegistry Registry { get; }

    internal Gauge Workflows { get; }

    internal Gauge Slots { get; }

    internal Gauge WorkflowErrors { get; }

    internal Gauge LastPass { get; }

    internal Counter Submissions { get; }

    internal Counter SlotFailures { get; }

    /// <summary>One pass that ran to its end; see the README for what makes a pass failed.</summary>
    public void PassEnded(PassReport report, TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(report);
        _passDuration.Observe(duration.TotalSeconds);
        if (report.ReconcileFailed)
        {
            _passFailures.WithLabels(PassFailureReasons.Reconcile).Inc();
        }

        if (report.SnapshotNotWritten)
        {
            _passFailures.WithLabels(PassFailureReasons.SnapshotWrite).Inc();
        }

        var outcome = report.Outcome switch
        {
            PassOutcome.ReadAgainSoon => PassOutcomes.ReadAgainSoon,
            PassOutcome.Gone => PassOutcomes.Gone,
            _ when report.ReconcileFailed || report.SnapshotNotWritten => PassOutcomes.Failed,
            _ => PassOutcomes.Ok,
        };
        _passes.WithLabels(outcome).Inc();
    }

    /// <summary>A pass that an exception escaped (the daemon's stop is not one).</summary>
    public void PassThrew(TimeSpan duration)
    {
        _passDuration.Observe(duration.TotalSeconds);
        _passFailures.WithLabels(PassFailureReasons.Exception).Inc();
        _passes.WithLabels(PassOutcomes.Failed).Inc();
    }

    /// <summary>One attempt of a backend request (see <see cref="BackendRequests"/>).</summary>
    internal void Request(string service, string operation, string outcome) => _requests.WithLabels(service, operation, outcome).Inc();

    /// <summary>A write of <paramref name="file"/> (<see cref="SnapshotFile"/>) failed.</summary>
    public void SnapshotWriteFailed(string file) => _snapshotWriteFailures.WithLabels(file).Inc();

    /// <summary>One post to webhook number <paramref name="webhook"/> (<see cref="DeliveryOutcomes"/>).</summary>
    public void Delivery(int webhook, string outcome) =>
        _deliveries.WithLabels(webhook.ToString(System.Globalization.CultureInfo.InvariantCulture), outcome).Inc();
}

/// <summary>The <c>outcome</c> label of <c>batchkeeper_passes_total</c>.</summary>
public static class PassOutcomes
{
    public const string Ok = "ok";
    public const string Failed = "failed";
    public const string ReadAgainSoon = "read_again_soon";
    public const string Gone = "gone";
}

/// <summary>The <c>reason</c> label of <c>batchkeeper_pass_failures_total</c>.</summary>
public static class PassFailureReasons
{
    public const string Reconcile = "reconcile";
    public const string SnapshotWrite = "snapshot_write";
    public const string Exception = "exception";
}

/// <summary>The <c>file</c> label of <c>batchkeeper_snapshot_write_failures_total</c>.</summary>
public static class SnapshotFile
{
    public const string Status = "status";
    public const string Dashboard = "dashboard";
}

/// <summary>The <c>outcome</c> label of <c>batchkeeper_notification_deliveries_total</c>.</summary>
public static class DeliveryOutcomes
{
    /// <summary>The webhook took the post.</summary>
    public const string Delivered = "delivered";

    /// <summary>It failed in a way worth another try (a 5xx, 429, no connection): the messages wait in the outbox.</summary>
    public const string Retried = "retried";

    /// <summary>It refused the post for good (another 4xx): the messages are dropped.</summary>
    public const string Dropped = "dropped";
}

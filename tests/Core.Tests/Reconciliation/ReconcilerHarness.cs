using System.Text.Json;
using Batchkeeper.Core.Passes;
using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Reconciliation;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Core.Tests.Fakes;
using Batchkeeper.Core.Workflows;

namespace Batchkeeper.Core.Tests.Reconciliation;

/// <summary>A reconciler wired to the fakes, a workflow plan, and the snapshot carried from pass to pass.</summary>
internal sealed class ReconcilerHarness
{
    /// <summary>Two analyses per sample on one queue; align asks for 1000 MiB.</summary>
    public const string TwoSteps = """
        {
          "workflow_name": "wf",
          "analyses": [
            { "name": "align", "job_definition": "align:1", "queue": "q1",
              "outputs": ["s3://bucket/{sample_name}.bam"], "containerOverrides": { "memory": 1000 } },
            { "name": "call", "job_definition": "call:1", "queue": "q1",
              "outputs": ["s3://bucket/{sample_name}.vcf"] }
          ]
        }
        """;

    public static readonly WorkflowLocation Location = new("demo", "wf.json", "/projects/demo");

    /// <summary>Three attempts, factor 1.5, no memory ceiling, two free interruptions, one minute of backoff.</summary>
    public static readonly RetryLimits Defaults = new(3, 1.5, null, 2, TimeSpan.FromMinutes(1));

    public ReconcilerHarness(string workflow = TwoSteps, IReadOnlyList<Sample>? samples = null, ReconcilerOptions? options = null)
    {
        Backend = new FakeJobBackend(Clock);
        Reconciler = new WorkflowReconciler(Backend, Outputs, options ?? new ReconcilerOptions { SubmitParallelism = 1 }, Log);
        Load(workflow, samples ?? Samples("s1"));
    }

    public ManualClock Clock { get; } = new();

    /// <summary>Every line the reconciler logged, with its scope.</summary>
    public ListLogger<WorkflowReconciler> Log { get; } = new();

    public FakeJobBackend Backend { get; }

    public FakeOutputStore Outputs { get; } = new();

    public WorkflowReconciler Reconciler { get; }

    public WorkflowPlan Plan { get; private set; } = null!;

    /// <summary>
    /// What the daemon would have on disk: the last pass's snapshot, handed to the next pass. A snapshot set by a
    /// test plays one read from disk after a restart (not known to be complete); one left by <see cref="PassAsync"/>
    /// is the daemon's own memory of its last pass.
    /// </summary>
    public WorkflowSnapshot? Snapshot
    {
        get => _snapshot;
        set
        {
            _snapshot = value;
            _snapshotIsComplete = false;
        }
    }

    private WorkflowSnapshot? _snapshot;
    private bool _snapshotIsComplete;

    public static DateTimeOffset Start => ManualClock.DefaultStart;

    /// <summary>Samples with a <c>file_name</c> column, like a metadata file.</summary>
    public static IReadOnlyList<Sample> Samples(params string[] names) =>
        names.Select(n => new Sample(n, new Dictionary<string, string> { ["sample_name"] = n, ["file_name"] = n + ".fq" })).ToArray();

    /// <summary>A workflow with one analysis, <c>align</c>, whose extra fields are <paramref name="extra"/>.</summary>
    public static string OneStep(string extra = "\"containerOverrides\": { \"memory\": 1000 }") => $$"""
        {
          "workflow_name": "wf",
          "analyses": [
            { "name": "align", "job_definition": "align:1", "queue": "q1",
              "outputs": ["s3://bucket/{sample_name}.bam"], {{extra}} }
          ]
        }
        """;

    /// <summary>Plans (again) from the workflow text, as the daemon does when the file changes.</summary>
    public void Load(string workflow, IReadOnlyList<Sample>? samples = null)
    {
        var parsed = WorkflowParser.Parse(workflow, Location.FileName, Location.Project);
        Plan = WorkflowPlanner.Plan(parsed, samples ?? Plan.Slots.Select(s => s.Sample).Distinct().Select(n => Samples(n)[0]).ToArray(), Location, Defaults);
    }

    /// <summary>The slot transitions of the last <see cref="PassAsync"/>.</summary>
    public IReadOnlyList<SlotTransition> LastTransitions { get; private set; } = [];

    /// <summary>
    /// One pass from the current snapshot, with <paramref name="retries"/> as the retry requests found. Every pass of every test that uses the harness also checks that the pass
    /// left the snapshot it started from exactly as it was: the two share the records of the slots that did not change.
    /// </summary>
    public async Task<WorkflowSnapshot> PassAsync(IReadOnlyList<RetryRequest>? retries = null)
    {
        var input = new PassInput(Plan, _snapshot, retries ?? [], Clock.GetUtcNow()) { PreviousIsComplete = _snapshotIsComplete };
        var previousJson = _snapshot is null ? null : JsonSerializer.Serialize(_snapshot, SnapshotJson.Options);
        var result = await Reconciler.ReconcileAsync(input, CancellationToken.None);
        if (previousJson is not null)
        {
            Assert.True(previousJson == JsonSerializer.Serialize(_snapshot, SnapshotJson.Options), "the pass edited the snapshot it started from");
        }

        var snapshot = result.Snapshot;
        LastTransitions = result.Transitions;
        _snapshot = snapshot;
        _snapshotIsComplete = true;
        return snapshot;
    }

    public SlotRecord Slot(string sample, string analysis) =>
        Assert.Single(Snapshot!.Slots, s => s.Sample == sample && s.Analysis == analysis);

    /// <summary>Makes every output of a slot exist.</summary>
    public void MakeOutputs(string sample, string analysis)
    {
        var slot = Plan.Slots.Single(s => s.Sample == sample && s.Analysis == analysis);
        Outputs.Add([.. slot.Spec!.Outputs.Select(o => o.Uri)]);
    }

    public string JobName(string sample, string analysis) =>
        Plan.Slots.Single(s => s.Sample == sample && s.Analysis == analysis).Spec!.JobName;

    /// <summary>Every submission so far as (sample, analysis, dependsOn).</summary>
    public IReadOnlyList<(string Sample, string Analysis, string DependsOn)> Submitted() =>
        Backend.SubmitCalls.Select(s => (s.Context.Sample, s.Context.Analysis, string.Join(",", s.DependsOn))).ToArray();

    /// <summary>A copy of a snapshot through its JSON form, as it would be read back from disk.</summary>
    public static WorkflowSnapshot Copy(WorkflowSnapshot snapshot) =>
        JsonSerializer.Deserialize<WorkflowSnapshot>(JsonSerializer.Serialize(snapshot, SnapshotJson.Options), SnapshotJson.Options)!;
}

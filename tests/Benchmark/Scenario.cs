using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Batchkeeper.Core.Planning;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Reconciliation;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Benchmark;

/// <summary>One size to measure: W workflows × S samples × A analyses, of which some samples are in flight.</summary>
/// <param name="InFlightLast">The samples in flight are the last ones of the list (added lately) rather than spread evenly through it.</param>
public sealed record Size(string Label, int Workflows, int Samples, int Analyses, int InFlightPerWorkflow, bool InFlightLast = false)
{
    public long Slots => (long)Workflows * Samples * Analyses;

    /// <summary>Workflows per project folder (they share its metadata.csv).</summary>
    public const int WorkflowsPerProject = 10;
}

/// <summary>
/// The state the benchmark starts from, built on disk, in S3 and in Batch before the daemon starts: every
/// sample complete (all its outputs in S3) except <see cref="Size.InFlightPerWorkflow"/> samples per workflow,
/// spread evenly through the sample list, whose chains are in Batch: analysis 1 RUNNING, the later ones PENDING
/// on it with <c>dependsOn</c>. The jobs carry the daemon's own job names (computed with its loader and planner),
/// so the daemon adopts them on its first pass, as it would after losing its snapshots.
/// </summary>
public sealed class Scenario
{
    private Scenario(string root, Size size)
    {
        Root = root;
        Size = size;
    }

    public string Root { get; }
    public Size Size { get; }
    public string ProjectsDirectory => Path.Combine(Root, "projects");

    /// <summary>Every workflow file's full path.</summary>
    public List<string> WorkflowFiles { get; } = [];

    /// <summary>The in-flight chains: per workflow file, per in-flight sample, the job ids of analyses 1..A.</summary>
    public List<(string File, string Sample, string[] JobIds)> Chains { get; } = [];

    /// <summary>The analysis-1 jobs whose runs the "changed" pass ends, and which of them fail.</summary>
    public List<(string JobId, bool Fails)> ToChange { get; } = [];

    public const string Bucket = "bench";
    public const string Queue = "bench";
    public const string JobDefinition = "bench:1";

    public static string SampleName(int i) => $"s{i:D5}";

    public static string Analysis(int a) => $"a{a + 1}";

    public static bool IsInFlight(Size size, int sample)
    {
        if (size.InFlightLast)
        {
            return sample >= size.Samples - size.InFlightPerWorkflow;
        }

        // Evenly spread: sample i is in flight when it is the middle one of its stretch of S / F samples.
        var stretch = (double)size.Samples / size.InFlightPerWorkflow;
        var k = (int)(sample / stretch);
        return k < size.InFlightPerWorkflow && sample == (int)((k + 0.5) * stretch);
    }

    /// <summary>The workflow file's text: A analyses in a chain, each with one S3 output per sample.</summary>
    public static string WorkflowText(string name, int analyses)
    {
        var list = new JsonArray();
        for (var a = 0; a < analyses; a++)
        {
            list.Add(new JsonObject
            {
                ["name"] = Analysis(a),
                ["job_definition"] = JobDefinition,
                ["queue"] = Queue,
                ["command"] = new JsonArray("run", Analysis(a), "{sample_name}", "{file_name}"),
                ["outputs"] = new JsonArray($"s3://{Bucket}/{{project_name}}/{{workflow_name}}/{Analysis(a)}/{{sample_name}}.out"),
                ["containerOverrides"] = new JsonObject { ["vcpus"] = 1, ["memory"] = 1024 },
                ["tags"] = new JsonObject { ["project"] = "{project_name}" },
            });
        }

        return new JsonObject { ["workflow_name"] = name, ["analyses"] = list }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    public static string MetadataCsv(int samples)
    {
        var csv = new StringBuilder("sample_name,file_name\n");
        for (var i = 0; i < samples; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{SampleName(i)},reads/{SampleName(i)}.fastq.gz\n");
        }

        return csv.ToString();
    }

    public static string OutputKey(string project, string workflow, int analysis, string sample) => $"{project}/{workflow}/{Analysis(analysis)}/{sample}.out";

    /// <summary>Writes the projects, seeds S3 with the complete samples' outputs and Batch with the in-flight chains.</summary>
    public static async Task<Scenario> CreateAsync(string root, Size size, MemoryS3 s3, Emulator emulator, double changedShare, Action<string> progress)
    {
        var scenario = new Scenario(root, size);
        var projects = (size.Workflows + Size.WorkflowsPerProject - 1) / Size.WorkflowsPerProject;
        var metadata = MetadataCsv(size.Samples);
        var planned = new List<(string File, WorkflowPlan Plan)>();
        for (var p = 0; p < projects; p++)
        {
            var project = $"p{p:D2}";
            var folder = Path.Combine(scenario.ProjectsDirectory, project);
            Directory.CreateDirectory(folder);
            await File.WriteAllTextAsync(Path.Combine(folder, "metadata.csv"), metadata);
            for (var w = p * Size.WorkflowsPerProject; w < Math.Min(size.Workflows, (p + 1) * Size.WorkflowsPerProject); w++)
            {
                var name = $"w{w:D3}";
                var file = Path.Combine(folder, name + ".json");
                await File.WriteAllTextAsync(file, WorkflowText(name, size.Analyses));
                scenario.WorkflowFiles.Add(file);

                // The daemon's own loader and planner: the job names are exactly those it will look for.
                var loaded = await new Batchkeeper.Daemon.Workflows.FileWorkflowSource().LoadAsync(file, CancellationToken.None);
                var plan = WorkflowPlanner.Plan(loaded.Workflow, loaded.Samples, new WorkflowLocation(project, name + ".json", folder), new RetryOptions().ToLimits());
                planned.Add((file, plan));
                for (var i = 0; i < size.Samples; i++)
                {
                    if (!IsInFlight(size, i))
                    {
                        for (var a = 0; a < size.Analyses; a++)
                        {
                            s3.Put(Bucket, OutputKey(project, name, a, SampleName(i)));
                        }
                    }
                }
            }
        }

        progress($"{scenario.WorkflowFiles.Count} workflow files, {s3.ObjectCount:N0} outputs in S3; submitting the in-flight chains to Batch");

        // The jobs whose runs the "changed" pass ends: enough analysis-1 jobs that about changedShare of all slots
        // change state. A success changes two jobs (it succeeds, the next analysis starts), a failure A jobs (it
        // and every job after it in the chain fail); every third one fails.
        var chainsAll = planned.SelectMany(p => p.Plan.Slots
            .Where(s => s.AnalysisIndex == 0 && IsInFlight(size, int.Parse(s.Sample[1..], CultureInfo.InvariantCulture)))
            .Select(s => (p.File, p.Plan, Sample: s.Sample))).ToList();
        var perChange = ((2.0 * 2) + size.Analyses) / 3;
        var changes = (int)Math.Min(chainsAll.Count, Math.Ceiling(size.Slots * changedShare / perChange));

        // Round-robin over workflows, so that the changes are spread as a real day's would be.
        var order = chainsAll.Select((c, i) => (c, i)).OrderBy(x => x.i % size.InFlightPerWorkflow).ThenBy(x => x.i).Select(x => x.c).ToList();
        var failing = new HashSet<string>(StringComparer.Ordinal);
        for (var k = 0; k < changes; k++)
        {
            if (k % 3 == 2)
            {
                failing.Add(order[k].File + "\n" + order[k].Sample);
            }
        }

        var failingNames = new List<string>();
        var chains = new List<(string File, string Sample, JobSpec[] Specs)>();
        foreach (var (file, plan, sample) in chainsAll)
        {
            var specs = plan.Slots.Where(s => s.Sample == sample).OrderBy(s => s.AnalysisIndex).Select(s => s.Spec!).ToArray();
            chains.Add((file, sample, specs));
            if (failing.Contains(file + "\n" + sample))
            {
                failingNames.Add(specs[0].JobName);
            }
        }

        if (failingNames.Count > 0)
        {
            // Decided when a job starts: these analysis-1 jobs will fail (exit 1) once their run is ended, first attempt only.
            emulator.Faults.AddJobRule(new BatchEmulator.JobFaultRule
            {
                NameRegex = "^(" + string.Join('|', failingNames.Select(System.Text.RegularExpressions.Regex.Escape)) + ")$",
                FirstAttempts = 1,
                ExitCode = 1,
                RunDuration = TimeSpan.FromDays(1),
            });
        }

        using var http = new HttpClient { BaseAddress = emulator.BaseAddress };
        var submitted = new (string File, string Sample, string[] JobIds)[chains.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, chains.Count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (c, ct) =>
        {
            var (file, sample, specs) = chains[c];
            var ids = new string[specs.Length];
            for (var a = 0; a < specs.Length; a++)
            {
                ids[a] = await SubmitAsync(http, specs[a], a > 0 ? ids[a - 1] : null, ct);
            }

            submitted[c] = (file, sample, ids);
        });
        scenario.Chains.AddRange(submitted);

        var byKey = submitted.ToDictionary(s => s.File + "\n" + s.Sample, s => s.JobIds[0], StringComparer.Ordinal);
        for (var k = 0; k < changes; k++)
        {
            var key = order[k].File + "\n" + order[k].Sample;
            scenario.ToChange.Add((byKey[key], failing.Contains(key)));
        }

        return scenario;
    }

    /// <summary>
    /// The fewest S3 requests that check the outputs of the slots <paramref name="asked"/> picks (by workflow file,
    /// sample and analysis index), workflow by workflow, as the objects in S3 are now.
    /// </summary>
    public int Outputs(MemoryS3 s3, Func<string, string, int, bool> asked)
    {
        var total = 0;
        foreach (var file in WorkflowFiles)
        {
            var project = Path.GetFileName(Path.GetDirectoryName(file)!);
            var workflow = Path.GetFileNameWithoutExtension(file);
            var keys = Enumerable.Range(0, Size.Samples).Select(SampleName)
                .SelectMany(s => Enumerable.Range(0, Size.Analyses).Where(a => asked(file, s, a)).Select(a => OutputKey(project, workflow, a, s)))
                .ToArray();
            total += keys.Length == 0 ? 0 : s3.MinimumRequests(Bucket, keys);
        }

        return total;
    }

    /// <summary>
    /// The slots of the chains whose first job is in <paramref name="jobIds"/>: of those that fail, every analysis
    /// (the later ones fail with it); of the others, the first.
    /// </summary>
    public Func<string, string, int, bool> EndedIn(IEnumerable<(string JobId, bool Fails)> jobIds)
    {
        var ends = jobIds.ToDictionary(c => c.JobId, c => c.Fails, StringComparer.Ordinal);
        var chains = Chains.Where(c => ends.ContainsKey(c.JobIds[0]))
            .ToDictionary(c => (c.File, c.Sample), c => ends[c.JobIds[0]]);
        return (file, sample, analysis) => chains.TryGetValue((file, sample), out var fails) && (fails || analysis == 0);
    }

    /// <summary>SubmitJob as the daemon sends it (name, queue, definition, command, outputs, resources, dependsOn).</summary>
    private static async Task<string> SubmitAsync(HttpClient http, JobSpec spec, string? dependsOn, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["jobName"] = spec.JobName,
            ["jobQueue"] = spec.Job.Queue,
            ["jobDefinition"] = spec.Job.JobDefinition,
            ["containerOverrides"] = new JsonObject
            {
                ["command"] = new JsonArray(spec.Job.Command!.Select(c => (JsonNode?)JsonValue.Create(Template.Finalize(c, 1))).ToArray()),
                ["environment"] = new JsonArray(new JsonObject
                {
                    ["name"] = WorkflowPlanner.OutputsVariable,
                    ["value"] = string.Join('\n', spec.Outputs.Select(o => o.Uri)),
                }),
                ["resourceRequirements"] = new JsonArray(
                    new JsonObject { ["type"] = "VCPU", ["value"] = "1" },
                    new JsonObject { ["type"] = "MEMORY", ["value"] = "1024" }),
            },
        };
        if (dependsOn is not null)
        {
            body["dependsOn"] = new JsonArray(new JsonObject { ["jobId"] = dependsOn });
        }

        return await PostSubmitAsync(http, body, cancellationToken);
    }

    /// <summary>
    /// Other users' jobs in the scenario's queue (named <c>other-lab-N</c>, so that neither the daemon nor the rule of
    /// its events takes them for its own), running as long as the benchmark does.
    /// </summary>
    public static async Task SubmitForeignAsync(Emulator emulator, int count)
    {
        using var http = new HttpClient { BaseAddress = emulator.BaseAddress };
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
            await PostSubmitAsync(http, new JsonObject { ["jobName"] = $"other-lab-{i}", ["jobQueue"] = Queue, ["jobDefinition"] = JobDefinition }, ct));
    }

    private static async Task<string> PostSubmitAsync(HttpClient http, JsonObject body, CancellationToken cancellationToken)
    {
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync("/v1/submitjob", content, cancellationToken);
        response.EnsureSuccessStatusCode();
        var answer = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken);
        return answer!["jobId"]!.GetValue<string>();
    }
}

using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Workflows;

namespace Batchkeeper.Core.Tests.Planning;

public sealed class WorkflowPlannerTests
{
    private static readonly WorkflowLocation Location = new("demo", "wf.json", "/projects/demo");

    private static readonly RetryLimits Defaults = new(3, 1.5, null, 5, TimeSpan.FromMinutes(1));

    private const string TwoAnalyses = """
        {
          "workflow_name": "wf",
          "analyses": [
            {
              "name": "align", "job_definition": "align:1", "queue": "q-{project_name}",
              "outputs": ["s3://b/{project_name}/{workflow_name}/{analysis_name}/{sample_name}.bam", "results/{sample_name}.log"],
              "parameters": { "input": "{file_name}", "try": "{attempt}" },
              "command": ["align", "--in", "{file_name}"],
              "environment": { "SAMPLE": "{sample_name}" },
              "tags": { "project": "{project_name}" },
              "containerOverrides": { "vcpus": 4, "memory": 8000 },
              "retry": { "max_attempts": 5, "max_memory": 32000 },
              "timeout_seconds": 3600
            },
            {
              "name": "call", "job_definition": "call:1", "queue": "q2",
              "outputs": ["s3://b/{sample_name}.vcf"],
              "retry": { "memory_factor": 2 }
            }
          ]
        }
        """;

    private static Sample Sample(string name, params (string Key, string Value)[] columns)
    {
        var values = columns.ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal);
        values["sample_name"] = name;
        return new Sample(name, values);
    }

    private static WorkflowPlan Plan(string json, params Sample[] samples) =>
        WorkflowPlanner.Plan(WorkflowParser.Parse(json, "wf.json", "demo"), samples, Location, Defaults);

    private static string OneAnalysis(string outputs) =>
        "{ \"workflow_name\": \"wf\", \"analyses\": [ { \"name\": \"a\", \"job_definition\": \"t:1\", \"queue\": \"q\", \"outputs\": " + outputs + " } ] }";

    [Fact]
    public void Plan_Slots_AreInSampleOrderThenChainOrder()
    {
        var plan = Plan(TwoAnalyses, Sample("zeta", ("file_name", "z.fq")), Sample("alpha", ("file_name", "a.fq")));

        Assert.Equal(
            [("zeta", 0, "align"), ("zeta", 1, "call"), ("alpha", 0, "align"), ("alpha", 1, "call")],
            plan.Slots.Select(s => (s.Sample, s.AnalysisIndex, s.Analysis)));
        Assert.Equal(["align", "call"], plan.Analyses);
        Assert.Equal("wf", plan.WorkflowName);
        Assert.False(plan.Cancel);
        Assert.All(plan.Slots, s => Assert.Null(s.Error));
    }

    [Fact]
    public void Plan_ExpandsEveryFieldFromTheSampleAndTheWorkflow()
    {
        var plan = Plan(TwoAnalyses, Sample("s1", ("file_name", "s1.fastq.gz")));

        var spec = plan.Slots[0].Spec;
        Assert.NotNull(spec);
        Assert.Equal("align:1", spec.Job.JobDefinition);
        Assert.Equal("q-demo", spec.Job.Queue);
        Assert.Equal("s1.fastq.gz", spec.Job.Parameters["input"]);
        Assert.Equal("{attempt}", spec.Job.Parameters["try"]);
        Assert.Equal(["align", "--in", "s1.fastq.gz"], spec.Job.Command);
        Assert.Equal("s1", spec.Job.Environment["SAMPLE"]);
        Assert.Equal("demo", spec.Job.Tags["project"]);
        Assert.Equal(4, spec.Job.Vcpus);
        Assert.Equal(8000, spec.Job.MemoryMiB);
        Assert.Equal(3600, spec.Job.TimeoutSeconds);
        Assert.Equal(["s3://b/demo/wf/align/s1.bam", "file:///projects/demo/results/s1.log"], spec.Outputs.Select(o => o.Uri));
        Assert.StartsWith("bk-wf-align-s1-", spec.JobName, StringComparison.Ordinal);
        Assert.EndsWith("-" + spec.SpecHash, spec.JobName, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_MergesPerAnalysisRetryWithTheDefaults()
    {
        var plan = Plan(TwoAnalyses, Sample("s1", ("file_name", "f")));

        Assert.Equal(new RetryLimits(5, 1.5, 32000, 5, TimeSpan.FromMinutes(1)), plan.Slots[0].Spec!.Retry);
        Assert.Equal(new RetryLimits(3, 2.0, null, 5, TimeSpan.FromMinutes(1)), plan.Slots[1].Spec!.Retry);
    }

    [Fact]
    public void Plan_UnknownPlaceholder_MakesOnlyThatSlotInvalidAndNamesTheField()
    {
        // Inline samples may lack a column that others have.
        var plan = Plan(TwoAnalyses, Sample("s1", ("file_name", "s1.fq")), Sample("s2"));

        Assert.NotNull(plan.Slots[0].Spec);
        Assert.NotNull(plan.Slots[1].Spec);
        Assert.NotNull(plan.Slots[3].Spec);
        var invalid = plan.Slots[2];
        Assert.Equal(("s2", "align"), (invalid.Sample, invalid.Analysis));
        Assert.Null(invalid.Spec);
        Assert.Equal(
            "wf.json: analyses[0].parameters.input: unknown placeholder {file_name}; known: {sample_name}, {project_name}, {workflow_name}, {analysis_name}, {attempt}; "
            + "wf.json: analyses[0].command[2]: unknown placeholder {file_name}; known: {sample_name}, {project_name}, {workflow_name}, {analysis_name}, {attempt}",
            invalid.Error);
    }

    [Fact]
    public void Plan_SamplesThatSanitiseToTheSameJobName_AreBothInvalid()
    {
        var plan = Plan(OneAnalysis("[\"s3://b/{sample_name}\"]"), Sample("a b"), Sample("a_b"), Sample("c"));

        Assert.Null(plan.Slots[0].Spec);
        Assert.Equal(
            "sample name 'a b' gives the same job name as 'a_b' (characters other than letters, digits, '_' and '-' become '_'); rename one of them",
            plan.Slots[0].Error);
        Assert.Null(plan.Slots[1].Spec);
        Assert.StartsWith("sample name 'a_b' gives the same job name as 'a b'", plan.Slots[1].Error, StringComparison.Ordinal);
        Assert.NotNull(plan.Slots[2].Spec);
    }

    [Fact]
    public void Plan_OutputWithoutSampleName_IsSharedAndInvalidWithAHint()
    {
        var plan = Plan(OneAnalysis("[\"s3://b/result.txt\"]"), Sample("s1"), Sample("s2"));

        Assert.All(plan.Slots, s => Assert.Null(s.Spec));
        Assert.Equal("wf.json: analyses[0].outputs: 's3://b/result.txt' is also the output of sample 's2', analysis 'a' (add {sample_name} to the output)", plan.Slots[0].Error);
        Assert.Equal("wf.json: analyses[0].outputs: 's3://b/result.txt' is also the output of sample 's1', analysis 'a' (add {sample_name} to the output)", plan.Slots[1].Error);
    }

    [Fact]
    public void Plan_SameOutputForTwoAnalyses_IsInvalidWithoutTheHint()
    {
        var json = """
            { "workflow_name": "wf", "analyses": [
              { "name": "a", "job_definition": "t:1", "queue": "q", "outputs": ["s3://b/{sample_name}.txt"] },
              { "name": "b", "job_definition": "t:1", "queue": "q", "outputs": ["s3://b/{sample_name}.txt"] } ] }
            """;

        var plan = Plan(json, Sample("s1"));

        Assert.Equal("wf.json: analyses[1].outputs: 's3://b/s1.txt' is also the output of sample 's1', analysis 'a'", plan.Slots[1].Error);
        Assert.Null(plan.Slots[0].Spec);
    }

    [Theory]
    [InlineData("[\"s3://b/{sample_name}-{attempt}.txt\"]", "wf.json: analyses[0].outputs[0]: may not use {attempt}: an output must name the same file whatever the attempt")]
    [InlineData("[\"s3://b/{sample_name}\", \"s3://{sample_name}\"]", "wf.json: analyses[0].outputs[1]: 's3://s1' is not an S3 object URI; expected s3://bucket/key")]
    [InlineData("[\"s3://b/{sample_name}/\"]", "wf.json: analyses[0].outputs[0]: 's3://b/s1/' names a folder; an output must be one object (its exact key must exist)")]
    [InlineData("[\"s3://b/{sample}\"]", "wf.json: analyses[0].outputs[0]: unknown placeholder {sample}; known: {sample_name}, {project_name}, {workflow_name}, {analysis_name}, {attempt}")]
    public void Plan_BadOutput_MakesTheSlotInvalid(string outputs, string error)
    {
        var slot = Assert.Single(Plan(OneAnalysis(outputs), Sample("s1")).Slots);

        Assert.Null(slot.Spec);
        Assert.Equal(error, slot.Error);
    }

    [Theory]
    [InlineData("\"queue\": \"q-{attempt}\", \"job_definition\": \"t:1\"", "queue")]
    [InlineData("\"queue\": \"q\", \"job_definition\": \"t:{attempt}\"", "job_definition")]
    public void Plan_AttemptInQueueOrJobDefinition_MakesTheSlotInvalid(string fields, string field)
    {
        // Submissions send the queue and job definition as planned, so {attempt} there would reach Batch as text.
        var json = "{ \"workflow_name\": \"wf\", \"analyses\": [ { \"name\": \"a\", " + fields + ", \"outputs\": [\"s3://b/{sample_name}\"] } ] }";

        var slot = Assert.Single(Plan(json, Sample("s1")).Slots);

        Assert.Null(slot.Spec);
        Assert.Equal($"wf.json: analyses[0].{field}: may not use {{attempt}}: every attempt of a slot runs with the same {field}", slot.Error);
    }

    [Fact]
    public void Plan_EscapedBracesInQueue_AreUnescaped()
    {
        var json = "{ \"workflow_name\": \"wf\", \"analyses\": [ { \"name\": \"a\", \"queue\": \"q{{1}}\", \"job_definition\": \"t:1\", \"outputs\": [\"s3://b/{sample_name}\"] } ] }";

        var spec = Assert.Single(Plan(json, Sample("s1")).Slots).Spec;

        Assert.NotNull(spec);
        Assert.Equal("q{1}", spec.Job.Queue);
    }

    [Fact]
    public void Plan_OutputWithEscapedBraces_IsNotAnAttempt()
    {
        var slot = Assert.Single(Plan(OneAnalysis("[\"s3://b/{sample_name}-{{attempt}}.txt\"]"), Sample("s1")).Slots);

        Assert.NotNull(slot.Spec);
        Assert.Equal("s3://b/s1-{attempt}.txt", Assert.Single(slot.Spec.Outputs).Uri);
    }

    [Fact]
    public void Plan_MetadataColumnNamedLikeABuiltIn_LosesToTheBuiltIn()
    {
        var plan = Plan(OneAnalysis("[\"s3://b/{project_name}/{sample_name}\"]"), Sample("s1", ("project_name", "spoofed")));

        Assert.Equal("s3://b/demo/s1", Assert.Single(plan.Slots[0].Spec!.Outputs).Uri);
    }

    [Fact]
    public void Plan_CancelledWorkflow_IsMarkedCancelled()
    {
        var json = "{ \"workflow_name\": \"wf\", \"cancel\": true, \"analyses\": [ { \"name\": \"a\", \"job_definition\": \"t:1\", \"queue\": \"q\", \"outputs\": [\"s3://b/{sample_name}\"] } ] }";

        Assert.True(Plan(json, Sample("s1")).Cancel);
    }

    [Fact]
    public void Plan_TemplatesWithoutSampleColumns_ExpandTheSameForEverySample_AndTheirErrorsReachEverySlot()
    {
        // Templates of only workflow-level placeholders are expanded once per analysis and shared by its slots.
        var json = "{ \"workflow_name\": \"wf\", \"analyses\": [ { \"name\": \"a\", \"job_definition\": \"t:1\", \"queue\": \"q-{project_name}\", "
            + "\"tags\": { \"p\": \"{project_name}-{analysis_name}\", \"s\": \"{sample_name}\" }, \"outputs\": [\"s3://b/{sample_name}\"] },"
            + "{ \"name\": \"b\", \"job_definition\": \"t:1\", \"queue\": \"q-{nope}\", \"outputs\": [\"s3://b/{sample_name}.b\"] } ] }";
        var plan = Plan(json, Sample("s1"), Sample("s2"), Sample("s3"));

        var first = plan.Slots.Where(s => s.AnalysisIndex == 0).Select(s => s.Spec!).ToArray();
        Assert.All(first, spec => Assert.Equal("q-demo", spec.Job.Queue));
        Assert.All(first, spec => Assert.Equal("demo-a", spec.Job.Tags["p"]));
        Assert.Equal(["s1", "s2", "s3"], first.Select(spec => spec.Job.Tags["s"]));
        Assert.All(plan.Slots.Where(s => s.AnalysisIndex == 1), s =>
        {
            Assert.Null(s.Spec);
            Assert.Contains("analyses[1].queue: unknown placeholder {nope}", s.Error, StringComparison.Ordinal);
        });
    }
}

using Batchkeeper.Core.Workflows;

namespace Batchkeeper.Core.Tests.Workflows;

public sealed class WorkflowParserTests
{
    private const string File = "famli.json";
    private const string Project = "study1";

    /// <summary>A file as the seed tool wrote them, with every tolerance at once.</summary>
    private const string SeedFile = """
        {
          # written by aws-batch-helpers
          "workflow_name": "famli",   // a line comment
          "project_name": "study1",
          "samples": [
            { "sample_name": "s1", "file_name": "s1.fastq.gz", "reads": 1000 },
            { "sample_name": "s2", "file_name": "s2.fastq.gz", "reads": 2000, },
          ],
          "jobs": { "s1": "0a1b" },
          "status": "running",
          "analyses": [
            {
              "job_definition": "famli:14",
              "queue": "spot-test",
              "description": "FAMLI (v0.9) # this hash is text, not a comment",
              "outputs": ["s3://bucket/lab/{project_name}/{workflow_name}/{sample_name}.json.gz",],
              "parameters": { "sample_name": "{sample_name}", "threads": 16, "ratio": 0.5, "paired": true },
              "containerOverrides": { "vcpus": 16, "memory": 122000 },
              "retry": { "max_attempts": 4, "memory_factor": 1.5, "max_memory": 240000 },
              "timeout": 86400,
              "job_ids": ["0a1b"],
              "_sample": "s1",
              "_filepath": "/tmp/famli.json",
            },
            {
              "job_definition": "arn:aws:batch:us-east-1:123456789012:job-definition/summarise:3",
              "queue": "ondemand",
              "outputs": ["s3://bucket/{sample_name}.summary.tsv"],
              "command": ["summarise", "--sample", "{sample_name}"],
              "environment": { "TMPDIR": "/scratch" },
              "tags": { "project": "{project_name}" },
              "timeout_seconds": 3600,
            },
          ],
        }
        """;

    private static IReadOnlyList<InputError> Errors(string json, string project = Project)
    {
        var exception = Assert.Throws<InputException>(() => WorkflowParser.Parse(json, File, project));
        Assert.All(exception.Errors, e => Assert.Equal(File, e.File));
        return exception.Errors;
    }

    /// <summary>A workflow with one analysis whose body is <paramref name="analysis"/>.</summary>
    private static string OneAnalysis(string analysis) =>
        "{ \"workflow_name\": \"wf\", \"analyses\": [ { " + analysis + " } ] }";

    private const string Valid = "\"job_definition\": \"tool:1\", \"queue\": \"q\", \"outputs\": [\"s3://b/{sample_name}\"]";

    [Fact]
    public void Parse_SeedStyleFile_ReadsTheWorkflow()
    {
        var workflow = WorkflowParser.Parse(SeedFile, File, Project);

        Assert.Equal("famli", workflow.Name);
        Assert.Equal("study1", workflow.ProjectName);
        Assert.False(workflow.Cancel);
        Assert.Null(workflow.Samples.FileName);
        Assert.NotNull(workflow.Samples.Inline);
        Assert.Equal(["s1", "s2"], workflow.Samples.Inline.Select(s => s["sample_name"]));
        Assert.Equal("2000", workflow.Samples.Inline[1]["reads"]);
        Assert.Equal(2, workflow.Analyses.Count);
    }

    [Fact]
    public void Parse_SeedStyleFile_ReadsTheFirstAnalysisWithItsOverridesRetryAndTimeout()
    {
        var famli = WorkflowParser.Parse(SeedFile, File, Project).Analyses[0];

        Assert.Equal("famli", famli.Name);
        Assert.Equal("famli:14", famli.JobDefinition);
        Assert.Equal("spot-test", famli.Queue);
        Assert.Equal("FAMLI (v0.9) # this hash is text, not a comment", famli.Description);
        Assert.Equal(["s3://bucket/lab/{project_name}/{workflow_name}/{sample_name}.json.gz"], famli.Outputs);
        Assert.Equal("{sample_name}", famli.Parameters["sample_name"]);
        Assert.Equal("16", famli.Parameters["threads"]);
        Assert.Equal("0.5", famli.Parameters["ratio"]);
        Assert.Equal("true", famli.Parameters["paired"]);
        Assert.Equal(16, famli.Vcpus);
        Assert.Equal(122000, famli.MemoryMiB);
        Assert.Equal(new RetrySettings(4, 1.5, 240000), famli.Retry);
        Assert.Equal(86400, famli.TimeoutSeconds);
        Assert.Null(famli.Command);
        Assert.Empty(famli.Environment);
    }

    [Fact]
    public void Parse_SeedStyleFile_ReadsTheSecondAnalysisNamedAfterItsDefinitionArn()
    {
        var summarise = WorkflowParser.Parse(SeedFile, File, Project).Analyses[1];

        Assert.Equal("summarise", summarise.Name);
        Assert.Equal(["summarise", "--sample", "{sample_name}"], summarise.Command);
        Assert.Equal("/scratch", summarise.Environment["TMPDIR"]);
        Assert.Equal("{project_name}", summarise.Tags["project"]);
        Assert.Equal(3600, summarise.TimeoutSeconds);
        Assert.Equal(RetrySettings.None, summarise.Retry);
        Assert.Null(summarise.Vcpus);
        Assert.Null(summarise.MemoryMiB);
    }

    [Fact]
    public void Parse_SeedBookkeepingKeys_AreIgnoredWithANoteEach()
    {
        var notes = WorkflowParser.Parse(SeedFile, File, Project).Notes;

        Assert.Equal(5, notes.Count);
        Assert.Contains(notes, n => n.StartsWith("famli.json: jobs: ignored", StringComparison.Ordinal));
        Assert.Contains(notes, n => n.StartsWith("famli.json: status: ignored", StringComparison.Ordinal));
        Assert.Contains(notes, n => n.StartsWith("famli.json: analyses[0].job_ids: ignored", StringComparison.Ordinal));
        Assert.Contains(notes, n => n.StartsWith("famli.json: analyses[0]._sample: ignored", StringComparison.Ordinal));
        Assert.Contains(notes, n => n.StartsWith("famli.json: analyses[0]._filepath: ignored", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("famli:14", "famli")]
    [InlineData("famli", "famli")]
    [InlineData("arn:aws:batch:us-east-1:123456789012:job-definition/famli:14", "famli")]
    public void Parse_WithoutName_NamesTheAnalysisAfterItsJobDefinition(string jobDefinition, string expected)
    {
        var json = OneAnalysis($"\"job_definition\": \"{jobDefinition}\", \"queue\": \"q\", \"outputs\": [\"s3://b/{{sample_name}}\"]");

        Assert.Equal(expected, WorkflowParser.Parse(json, File, Project).Analyses[0].Name);
    }

    [Fact]
    public void Parse_SamplesAsAFileName_KeepsTheFileName()
    {
        var json = "{ \"workflow_name\": \"wf\", \"samples\": \"samples.csv\", \"cancel\": true, \"analyses\": [ { " + Valid + " } ] }";

        var workflow = WorkflowParser.Parse(json, File, Project);

        Assert.Equal("samples.csv", workflow.Samples.FileName);
        Assert.Null(workflow.Samples.Inline);
        Assert.True(workflow.Cancel);
    }

    [Fact]
    public void Parse_WithoutSamples_UsesTheDefaultSource()
    {
        var workflow = WorkflowParser.Parse(OneAnalysis(Valid), File, Project);

        Assert.Same(SampleSource.Default, workflow.Samples);
        Assert.Null(workflow.ProjectName);
        Assert.Empty(workflow.Notes);
    }

    [Fact]
    public void Parse_TimeoutSecondsWinsOverTimeout()
    {
        var workflow = WorkflowParser.Parse(OneAnalysis(Valid + ", \"timeout_seconds\": 120, \"timeout\": 600"), File, Project);

        Assert.Equal(120, workflow.Analyses[0].TimeoutSeconds);
    }

    [Theory]
    [InlineData("timeout_seconds", 3)]
    [InlineData("timeout", 59)]
    public void Parse_ATimeoutUnderAwsBatchsMinute_IsTheBackendsToRefuse_NotTheParsers(string key, int seconds)
    {
        var workflow = WorkflowParser.Parse(OneAnalysis(Valid + $", \"{key}\": {seconds}"), File, Project);

        Assert.Equal(seconds, workflow.Analyses[0].TimeoutSeconds);
    }

    [Fact]
    public void Parse_InvalidJson_GivesThePositionOnce_InCharactersAsAnEditorCountsThem()
    {
        // "é" is two bytes in UTF-8: the stray x is at byte 12 of its line (System.Text.Json's BytePositionInLine), the
        // editor's column 12 (1-based: 11 characters before it).
        var json = "{\n  \"workflow_name\": \"wf\",\n  \"é\": \"x\" x\n}";

        var error = Assert.Single(Errors(json));

        Assert.StartsWith("is not valid JSON at line 3, column 12: ", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("BytePositionInLine", error.Message, StringComparison.Ordinal);
        Assert.EndsWith(".", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_InvalidJson_NamesTheLineEvenAfterHashComments()
    {
        var json = "{\n  # a comment line\n  \"workflow_name\": \"wf\",\n  \"analyses\": [ { \"queue\": } ]\n}";

        var error = Assert.Single(Errors(json));

        Assert.Equal("", error.Field);
        Assert.StartsWith("is not valid JSON at line 4, column ", error.Message, StringComparison.Ordinal);
        Assert.StartsWith("famli.json: is not valid JSON at line 4", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[1, 2]", "got a list of 2")]
    [InlineData("\"famli\"", "got the string \"famli\"")]
    [InlineData("42", "got the number 42")]
    public void Parse_TopLevelNotAnObject_SaysWhatItGot(string json, string got)
    {
        var error = Assert.Single(Errors(json));

        Assert.Equal("", error.Field);
        Assert.Contains("expected a JSON object with workflow_name and analyses", error.Message, StringComparison.Ordinal);
        Assert.Contains(got, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    // Missing required fields.
    [InlineData("{ \"analyses\": [ { " + Valid + " } ] }", "workflow_name", "required: a non-empty string")]
    [InlineData("{ \"workflow_name\": \"wf\" }", "analyses", "required: a non-empty list of analyses")]
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": [ { \"queue\": \"q\", \"outputs\": [\"x\"] } ] }", "analyses[0].job_definition", "required: a non-empty string")]
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": [ { \"job_definition\": \"t:1\", \"outputs\": [\"x\"] } ] }", "analyses[0].queue", "required: a non-empty string")]
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": [ { \"job_definition\": \"t:1\", \"queue\": \"q\" } ] }", "analyses[0].outputs", "required: a non-empty list of output URIs")]
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": [ { \"job_definition\": \"t:1\", \"queue\": \"q\", \"outputs\": null } ] }", "analyses[0].outputs", "required: a non-empty list of output URIs")]
    [InlineData("{ \"workflow_name\": \"\", \"analyses\": [ { " + Valid + " } ] }", "workflow_name", "expected a non-empty string, got the string \"\"")]
    // Empty lists.
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": [] }", "analyses", "expected a non-empty list of analyses, got a list of 0")]
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": [ { \"job_definition\": \"t:1\", \"queue\": \"q\", \"outputs\": [] } ] }", "analyses[0].outputs", "required: a non-empty list of output URIs")]
    // Wrong types.
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": { } }", "analyses", "expected a non-empty list of analyses, got an object")]
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": [ \"famli\" ] }", "analyses[0]", "expected an analysis object, got the string \"famli\"")]
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": [ { \"job_definition\": \"t:1\", \"queue\": \"q\", \"outputs\": \"s3://b/x\" } ] }", "analyses[0].outputs", "expected a list of strings, got the string \"s3://b/x\"")]
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": [ { \"job_definition\": \"t:1\", \"queue\": \"q\", \"outputs\": [ { } ] } ] }", "analyses[0].outputs[0]", "expected a string, got an object")]
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": [ { " + Valid + ", \"parameters\": [\"a\", \"b\"] } ] }", "analyses[0].parameters", "expected an object of names to strings, got a list of 2")]
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": [ { " + Valid + ", \"parameters\": { \"x\": [1] } } ] }", "analyses[0].parameters.x", "expected a string or number, got a list of 1")]
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": [ { " + Valid + ", \"containerOverrides\": { \"vcpus\": -2 } } ] }", "analyses[0].containerOverrides.vcpus", "expected a positive number, got -2")]
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": [ { " + Valid + ", \"containerOverrides\": { \"vcpus\": 1.5 } } ] }", "analyses[0].containerOverrides.vcpus", "expected a whole number, got 1.5")]
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": [ { " + Valid + ", \"containerOverrides\": { \"memory\": \"lots\" } } ] }", "analyses[0].containerOverrides.memory", "expected a positive number, got the string \"lots\"")]
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": [ { " + Valid + ", \"containerOverrides\": { \"gpus\": 1 } } ] }", "analyses[0].containerOverrides.gpus", "unknown field; expected vcpus or memory (MiB)")]
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": [ { " + Valid + ", \"command\": [] } ] }", "analyses[0].command", "expected a non-empty list of strings")]
    [InlineData("{ \"workflow_name\": \"wf\", \"cancel\": \"yes\", \"analyses\": [ { " + Valid + " } ] }", "cancel", "expected true or false, got the string \"yes\"")]
    [InlineData("{ \"workflow_name\": \"wf\", \"samples\": 3, \"analyses\": [ { " + Valid + " } ] }", "samples", "expected a metadata file name or a list of sample records, got the number 3")]
    [InlineData("{ \"workflow_name\": \"wf\", \"samples\": \"../other/metadata.csv\", \"analyses\": [ { " + Valid + " } ] }", "samples", "must be a file name inside the project folder")]
    // Unknown fields, with what is expected.
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": [ { " + Valid + ", \"ouputs\": [\"x\"] } ] }", "analyses[0].ouputs", "unknown field; expected one of name, job_definition, queue, description, outputs,")]
    [InlineData("{ \"workflow_name\": \"wf\", \"analysis\": [], \"analyses\": [ { " + Valid + " } ] }", "analysis", "unknown field; expected one of workflow_name, project_name, samples, analyses, cancel")]
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": [ { " + Valid + ", \"retry\": { \"attempts\": 2 } } ] }", "analyses[0].retry.attempts", "unknown field; expected max_attempts, memory_factor or max_memory")]
    // Limits.
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": [ { " + Valid + ", \"timeout_seconds\": 0 } ] }", "analyses[0].timeout_seconds", "expected a positive number, got 0")]
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": [ { " + Valid + ", \"timeout\": 2.5 } ] }", "analyses[0].timeout", "expected a whole number, got 2.5")]
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": [ { " + Valid + ", \"retry\": { \"memory_factor\": 0.5 } } ] }", "analyses[0].retry.memory_factor", "expected a number of at least 1, got 0.5")]
    [InlineData("{ \"workflow_name\": \"wf\", \"analyses\": [ { " + Valid + ", \"retry\": { \"max_attempts\": 0 } } ] }", "analyses[0].retry.max_attempts", "expected a positive number, got 0")]
    public void Parse_BadField_ReportsFileFieldAndExpectation(string json, string field, string expectation)
    {
        var errors = Errors(json);

        var error = Assert.Single(errors, e => e.Field == field);
        Assert.Contains(expectation, error.Message, StringComparison.Ordinal);
        Assert.Equal($"{File}: {field}: {error.Message}", error.ToString());
    }

    [Theory]
    [InlineData("../x")]
    [InlineData(".hidden")]
    [InlineData("my workflow")]
    [InlineData("a/b")]
    [InlineData("ünïcode")]
    public void Parse_UnsafeWorkflowName_IsRejected(string name)
    {
        var json = "{ \"workflow_name\": \"" + name + "\", \"analyses\": [ { " + Valid + " } ] }";

        var error = Assert.Single(Errors(json));

        Assert.Equal("workflow_name", error.Field);
        Assert.Equal($"'{name}' may hold only letters, digits, '_', '-' and '.' (not leading): it becomes part of job names and paths", error.Message);
    }

    [Theory]
    [InlineData("../x")]
    [InlineData(".hidden")]
    [InlineData("two words")]
    public void Parse_UnsafeAnalysisName_IsRejected(string name)
    {
        var error = Assert.Single(Errors(OneAnalysis(Valid + ", \"name\": \"" + name + "\"")));

        Assert.Equal("analyses[0].name", error.Field);
        Assert.StartsWith($"'{name}' may hold only letters, digits,", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("famli-v2.1")]
    [InlineData("_private")]
    [InlineData("9lives")]
    public void Parse_SafeNames_AreAccepted(string name)
    {
        var json = "{ \"workflow_name\": \"" + name + "\", \"analyses\": [ { " + Valid + ", \"name\": \"" + name + "\" } ] }";

        var workflow = WorkflowParser.Parse(json, File, Project);

        Assert.Equal(name, workflow.Name);
        Assert.Equal(name, workflow.Analyses[0].Name);
    }

    [Fact]
    public void Parse_ProjectNameOfAnotherFolder_IsRejected()
    {
        var json = "{ \"workflow_name\": \"wf\", \"project_name\": \"other\", \"analyses\": [ { " + Valid + " } ] }";

        var error = Assert.Single(Errors(json));

        Assert.Equal("project_name", error.Field);
        Assert.Equal("'other' does not match the project folder 'study1'; remove it or move the file", error.Message);
    }

    [Fact]
    public void Parse_DuplicateAnalysisNames_AreRejected()
    {
        // Both default to "famli" from their job definitions.
        var json = """
            { "workflow_name": "wf", "analyses": [
              { "job_definition": "famli:14", "queue": "q", "outputs": ["s3://b/{sample_name}.a"] },
              { "job_definition": "famli:15", "queue": "q", "outputs": ["s3://b/{sample_name}.b"] } ] }
            """;

        var error = Assert.Single(Errors(json));

        Assert.Equal("analyses", error.Field);
        Assert.Contains("analysis name 'famli' is used 2 times", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SeveralProblems_AreReportedTogether()
    {
        var json = """
            {
              "project_name": "other",
              "analyses": [
                { "job_definition": "a:1", "ouputs": ["x"], "containerOverrides": { "vcpus": -2 } },
                { "job_definition": "b:1", "queue": "q", "outputs": ["x"], "timeout": 0 }
              ]
            }
            """;

        var exception = Assert.Throws<InputException>(() => WorkflowParser.Parse(json, File, Project));

        Assert.Equal(
            [
                "workflow_name", "project_name", "analyses[0].ouputs", "analyses[0].queue", "analyses[0].outputs",
                "analyses[0].containerOverrides.vcpus", "analyses[1].timeout",
            ],
            exception.Errors.Select(e => e.Field));
        Assert.All(exception.Errors, e => Assert.Contains(e.ToString(), exception.Message, StringComparison.Ordinal));
    }
}

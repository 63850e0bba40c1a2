using System.Text.RegularExpressions;
using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Workflows;

namespace Batchkeeper.Core.Tests.Planning;

public sealed partial class JobNamesTests
{
    /// <summary>AWS Batch's rule for job names.</summary>
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")]
    private static partial Regex BatchName();

    private const string Hash = "0123456789";

    [Fact]
    public void For_ShortNames_IsStemThenHash()
    {
        Assert.Equal("bk-famli-align-s1-0123456789", JobNames.For("famli", "align", "s1", Hash));
    }

    [Fact]
    public void Hash_IsSha256OfTheLengthPrefixedFields_SoItNeverChangesBetweenRuns()
    {
        // sha256("8:famli:14-1:1:q")[:10], computed outside .NET: no per-process randomness.
        Assert.Equal("a8c63a2cb8", JobNames.Hash(["famli:14", null, "q"]));
        Assert.Equal(JobNames.Hash(["famli:14", null, "q"]), JobNames.Hash(["famli:14", null, "q"]));
    }

    [Theory]
    [InlineData(new[] { "ab", "c" }, new[] { "a", "bc" })]
    [InlineData(new[] { "a", "" }, new[] { "a" })]
    [InlineData(new[] { "-1:" }, new string?[] { null, null })]
    public void Hash_DifferentFieldLists_DoNotCollide(string?[] left, string?[] right)
    {
        Assert.NotEqual(JobNames.Hash(left), JobNames.Hash(right));
    }

    [Theory]
    [InlineData("s1")]
    [InlineData("échantillon 42/α")]
    [InlineData("ünïcödé-😀")]
    [InlineData("a b\tc")]
    [InlineData("-leading-dash")]
    [InlineData("_leading_underscore")]
    public void For_AnySampleName_KeepsBatchRules(string sample)
    {
        var name = JobNames.For("famli", "align", sample, JobNames.Hash([sample]));

        Assert.Matches(BatchName(), name);
        Assert.StartsWith("bk-famli-align-", name, StringComparison.Ordinal);
        Assert.EndsWith("-" + JobNames.Hash([sample]), name, StringComparison.Ordinal);
    }

    [Fact]
    public void For_UnicodeSampleName_IsSanitised()
    {
        Assert.Equal("bk-famli-align-_chantillon_42__-0123456789", JobNames.For("famli", "align", "échantillon 42/α", Hash));
    }

    [Theory]
    [InlineData(200, 5, 5)]
    [InlineData(5, 200, 5)]
    [InlineData(5, 5, 300)]
    [InlineData(130, 130, 130)]
    public void For_LongNames_AreCutTo128CharactersKeepingTheHash(int workflowLength, int analysisLength, int sampleLength)
    {
        var name = JobNames.For(new string('w', workflowLength), new string('a', analysisLength), new string('s', sampleLength), Hash);

        Assert.Equal(JobNames.MaxLength, name.Length);
        Assert.Matches(BatchName(), name);
        Assert.EndsWith("-" + Hash, name, StringComparison.Ordinal);
    }

    [Fact]
    public void For_NameOfExactly128Characters_IsNotCut()
    {
        // "bk-w-a-" is 7 characters, "-" + hash 11: a 110-character sample fills 128 exactly.
        var name = JobNames.For("w", "a", new string('s', 110), Hash);

        Assert.Equal(128, name.Length);
        Assert.Equal("bk-w-a-" + new string('s', 110) + "-" + Hash, name);
    }

    [Theory]
    [InlineData("wf")]
    [InlineData("famli.v2")]
    [InlineData(100)]
    [InlineData(113)]
    [InlineData(114)]
    [InlineData(120)]
    [InlineData(200)]
    public void WorkflowPrefix_IsAPrefixOfEveryJobNameOfTheWorkflow(object workflow)
    {
        var name = workflow as string ?? new string('w', (int)workflow);

        var prefix = JobNames.WorkflowPrefix(name);

        Assert.StartsWith(prefix, JobNames.For(name, "align", "s1", Hash), StringComparison.Ordinal);
        Assert.StartsWith(prefix, JobNames.For(name, "a", new string('s', 300), Hash), StringComparison.Ordinal);
        Assert.True(prefix.Length <= JobNames.MaxLength);
    }

    [Theory]
    [InlineData("a b/c.d", "a_b_c_d")]
    [InlineData("ok_name-1", "ok_name-1")]
    [InlineData("é", "_")]
    public void Sanitize_ReplacesEverythingButLettersDigitsUnderscoreAndDash(string text, string expected)
    {
        Assert.Equal(expected, JobNames.Sanitize(text));
    }

    private const string BaseAnalysis = """
        "name": "align", "job_definition": "align:1", "queue": "q1",
        "outputs": ["s3://b/{sample_name}.bam"],
        "parameters": { "threads": "4" }, "command": ["align", "{sample_name}"],
        "containerOverrides": { "memory": 1000 }
        """;

    private static string PlannedName(string analysis, string project = "demo")
    {
        var workflow = WorkflowParser.Parse("{ \"workflow_name\": \"wf\", \"analyses\": [ { " + analysis + " } ] }", "wf.json", project);
        var samples = new[] { new Sample("s1", new Dictionary<string, string> { ["sample_name"] = "s1" }) };
        var plan = WorkflowPlanner.Plan(workflow, samples, new WorkflowLocation(project, "wf.json", "/projects/" + project), RetryLimits.Default);
        var slot = Assert.Single(plan.Slots);
        Assert.NotNull(slot.Spec);
        return slot.Spec.JobName;
    }

    /// <summary>
    /// A job's name is how a restarted daemon finds (and adopts) the job it submitted: planning may be made cheaper, but
    /// the name of a spec with every section (parameters, command, environment, outputs, resources) stays this one.
    /// </summary>
    [Fact]
    public void PlannedName_OfASpecWithEverySection_IsTheOneNamesHaveAlwaysBeen()
    {
        var name = PlannedName("""
            "name": "align", "job_definition": "align:{sample_name}", "queue": "q-{project_name}",
            "outputs": ["s3://b/{sample_name}.bam", "s3://b/{sample_name}.bai"],
            "parameters": { "threads": "4", "ref": "hg38", "sample": "{sample_name}" },
            "command": ["align", "{sample_name}", "Ref::threads"],
            "environment": { "ZETA": "z", "ALPHA": "{analysis_name}-é😀" },
            "containerOverrides": { "vcpus": 2, "memory": 4096 }
            """);

        Assert.Equal("bk-wf-align-s1-7aa6eaa815", name);
    }

    public static TheoryData<string?[]> FieldLists => new()
    {
        new[] { "s1", "échantillon", "😀", "\ud800", "" },
        new[] { "a", null, "bc", "-1:" },
    };

    [Theory]
    [MemberData(nameof(FieldLists))]
    public void Hash_IsThatOfTheJoinedFieldsEncodedOnce(string?[] fields)
    {
        // The definition Hash had before it wrote its input field by field: the fields joined, then encoded as UTF-8.
        var joined = string.Concat(fields.Select(f => f is null ? "-1:" : $"{f.Length}:{f}"));
        var digest = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(joined));

        Assert.Equal(Convert.ToHexStringLower(digest)[..JobNames.HashLength], JobNames.Hash(fields));
    }

    [Fact]
    public void PlannedName_SameSpec_GivesTheSameNameEveryTime()
    {
        var first = PlannedName(BaseAnalysis);

        Assert.Equal(first, PlannedName(BaseAnalysis));
        Assert.StartsWith("bk-wf-align-s1-", first, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"threads\": \"4\"", "\"threads\": \"8\"")]
    [InlineData("\"threads\": \"4\"", "\"threads\": \"4\", \"extra\": \"1\"")]
    [InlineData("[\"align\", \"{sample_name}\"]", "[\"align\", \"--fast\", \"{sample_name}\"]")]
    [InlineData("\"memory\": 1000", "\"memory\": 2000")]
    [InlineData("\"memory\": 1000", "\"memory\": 1000, \"vcpus\": 2")]
    [InlineData("\"queue\": \"q1\"", "\"queue\": \"q2\"")]
    [InlineData("\"align:1\"", "\"align:2\"")]
    [InlineData("\"s3://b/{sample_name}.bam\"", "\"s3://b/{sample_name}.cram\"")]
    [InlineData("\"containerOverrides\"", "\"environment\": { \"X\": \"1\" }, \"containerOverrides\"")]
    public void PlannedName_DifferentSpec_GivesADifferentName(string from, string to)
    {
        var changed = BaseAnalysis.Replace(from, to, StringComparison.Ordinal);
        Assert.NotEqual(BaseAnalysis, changed);

        Assert.NotEqual(PlannedName(BaseAnalysis), PlannedName(changed));
    }

    [Fact]
    public void PlannedName_OtherProject_GivesADifferentName()
    {
        Assert.NotEqual(PlannedName(BaseAnalysis, "demo"), PlannedName(BaseAnalysis, "other"));
    }

    [Fact]
    public void PlannedName_DescriptionOrRetryChange_KeepsTheName()
    {
        var changed = BaseAnalysis + ", \"description\": \"now described\", \"retry\": { \"max_attempts\": 7 }";

        Assert.Equal(PlannedName(BaseAnalysis), PlannedName(changed));
    }
}

using Batchkeeper.Core.Planning;

namespace Batchkeeper.Core.Tests.Planning;

public sealed class TemplateTests
{
    private static readonly Dictionary<string, string> Values = new(StringComparer.Ordinal)
    {
        ["project_name"] = "study1",
        ["workflow_name"] = "famli",
        ["sample_name"] = "s1",
        ["analysis_name"] = "align",
        ["file_name"] = "s1.fastq.gz",
    };

    private static string Expand(string template, IReadOnlyDictionary<string, string>? values = null)
    {
        var result = Template.Expand(template, values ?? Values, out var error);
        Assert.Null(error);
        Assert.NotNull(result);
        return result;
    }

    private static string ExpandError(string template)
    {
        Assert.Null(Template.Expand(template, Values, out var error));
        Assert.NotNull(error);
        return error;
    }

    [Theory]
    [InlineData("{project_name}", "study1")]
    [InlineData("{workflow_name}", "famli")]
    [InlineData("{sample_name}", "s1")]
    [InlineData("{analysis_name}", "align")]
    [InlineData("{file_name}", "s1.fastq.gz")]
    [InlineData("s3://b/{project_name}/{workflow_name}/{analysis_name}/{sample_name}.json", "s3://b/study1/famli/align/s1.json")]
    [InlineData("{sample_name}{sample_name}", "s1s1")]
    [InlineData("no placeholders", "no placeholders")]
    [InlineData("", "")]
    public void Expand_KnownPlaceholders_AreReplaced(string template, string expected)
    {
        Assert.Equal(expected, Template.Finalize(Expand(template), 1));
    }

    [Theory]
    [InlineData("{{literal}}", "{{literal}}", "{literal}")]
    [InlineData("{{{sample_name}}}", "{{s1}}", "{s1}")]
    [InlineData("{{attempt}}", "{{attempt}}", "{attempt}")]
    [InlineData("{{{attempt}", "{{{attempt}", "{2")]
    [InlineData("{attempt}}}", "{attempt}}}", "2}")]
    [InlineData("{{\"attempt\": {attempt}}}", "{{\"attempt\": {attempt}}}", "{\"attempt\": 2}")]
    [InlineData("awk '{{print $1}}' {file_name}", "awk '{{print $1}}' s1.fastq.gz", "awk '{print $1}' s1.fastq.gz")]
    public void EscapedBraces_SurviveBothPhases(string template, string expanded, string final)
    {
        var first = Expand(template);

        Assert.Equal(expanded, first);
        Assert.Equal(final, Template.Finalize(first, 2));
    }

    [Theory]
    [InlineData("{file_name}")]
    [InlineData("{attempt}")]
    [InlineData("{{x}}")]
    [InlineData("}{")]
    [InlineData("{sample_name")]
    public void Expand_ValueWithBraces_IsNotExpandedAgain(string value)
    {
        var values = new Dictionary<string, string>(Values) { ["note"] = value };

        var expanded = Expand("[{note}]-{attempt}", values);

        Assert.Equal($"[{value}]-3", Template.Finalize(expanded, 3));
    }

    [Fact]
    public void Expand_UnknownPlaceholder_NamesItAndListsTheKnownOnes()
    {
        var error = ExpandError("s3://b/{sampel_name}.json");

        Assert.Equal("unknown placeholder {sampel_name} (did you mean {sample_name}?); known: {project_name}, {workflow_name}, {sample_name}, {analysis_name}, {file_name}, {attempt}", error);
    }

    [Theory]
    [InlineData("in/{file_nme}", "file_name")]
    [InlineData("{Sample_Name}", "sample_name")]
    [InlineData("{atempt}", "attempt")]
    public void Expand_NearMissOfAKnownName_SuggestsIt(string template, string meant)
    {
        Assert.Contains($"(did you mean {{{meant}}}?)", ExpandError(template), StringComparison.Ordinal);
    }

    [Fact]
    public void Expand_NameLikeNoKnownOne_SuggestsNothing()
    {
        Assert.DoesNotContain("did you mean", ExpandError("{reference_genome}"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"sample\": \"{sample_name}\"}", 1, "{\"sample\": \"{sample_name}")]
    [InlineData("awk '{print $1}'", 6, "{print $1}")]
    [InlineData("{}", 1, "{}")]
    public void Expand_BracesAroundSomethingThatIsNoName_SayHowToWriteLiteralBraces(string template, int position, string quoted)
    {
        Assert.Equal(
            $"'{{' at position {position} starts {quoted}, which is not a placeholder: write '{{{{' and '}}}}' for literal braces (JSON, awk or ${{VAR}} in a command); "
            + "the placeholders are {project_name}, {workflow_name}, {sample_name}, {analysis_name}, {file_name}, {attempt}",
            ExpandError(template));
    }

    [Fact]
    public void Expand_AShellVariable_SaysHowToWriteIt()
    {
        Assert.Contains("for the shell's ${HOME} write ${{HOME}}", ExpandError("cd ${HOME}"), StringComparison.Ordinal);
    }

    [Fact]
    public void Expand_UnknownPlaceholder_QuotesNamesBoundedAndEscaped()
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < 30; i++)
        {
            values[$"column{i}"] = "x";
        }

        Assert.Null(Template.Expand("{" + new string('n', 100) + "}", values, out var error));

        Assert.Contains("{" + new string('n', 64) + "…}", error, StringComparison.Ordinal);
        Assert.EndsWith("and 11 more", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{sample_name", "'{' at position 1 is not closed; write '{{' for a literal brace")]
    [InlineData("ab{", "'{' at position 3 is not closed; write '{{' for a literal brace")]
    [InlineData("a}b", "'}' at position 2 has no opening brace; write '}}' for a literal brace")]
    public void Expand_MalformedTemplate_SaysWhereAndHowToEscape(string template, string expected)
    {
        Assert.Equal(expected, ExpandError(template));
    }

    [Fact]
    public void Expand_DefersAttempt_AndFinalizeFillsItIn()
    {
        var expanded = Expand("{sample_name}-try{attempt}-of-{attempt}");

        Assert.Equal("s1-try{attempt}-of-{attempt}", expanded);
        Assert.Equal("s1-try1-of-1", Template.Finalize(expanded, 1));
        Assert.Equal("s1-try12-of-12", Template.Finalize(expanded, 12));
    }

    [Theory]
    [InlineData("x-{attempt}", true)]
    [InlineData("{attempt}}}", true)]
    [InlineData("{{{attempt}}}", true)]
    [InlineData("x-{sample_name}", false)]
    [InlineData("{{attempt}}", false)]
    [InlineData("plain", false)]
    public void UsesAttempt_IsTrueOnlyForARealAttemptPlaceholder(string template, bool expected)
    {
        Assert.Equal(expected, Template.UsesAttempt(Expand(template)));
    }

    [Theory]
    [InlineData("no placeholders", "")]
    [InlineData("{project_name}/{sample_name}.out", "project_name,sample_name")]
    [InlineData("{{literal}} {attempt}", "attempt")]
    [InlineData("}}{{{file_name}}}", "file_name")]
    [InlineData("{unclosed", "")]
    public void Placeholders_NamesEachPlaceholderButNotEscapedBraces(string template, string expected)
    {
        Assert.Equal(expected, string.Join(',', Template.Placeholders(template)));
    }
}

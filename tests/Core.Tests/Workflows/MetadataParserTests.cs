using Batchkeeper.Core.Workflows;

namespace Batchkeeper.Core.Tests.Workflows;

public sealed class MetadataParserTests
{
    private const string Csv = "metadata.csv";
    private const string Json = "metadata.json";

    private static InputError SingleCsvError(string text)
    {
        var exception = Assert.Throws<InputException>(() => MetadataParser.ParseCsv(text, Csv));
        var error = Assert.Single(exception.Errors);
        Assert.Equal(Csv, error.File);
        return error;
    }

    [Fact]
    public void ParseCsv_QuotedFields_KeepCommasQuotesAndNewlines()
    {
        var text = "sample_name,file_name,description\r\n"
                   + "s1,s1.fq,\"a, b\"\r\n"
                   + "s2,\"s2 \"\"quoted\"\".fq\",\"line one\nline two\"\r\n"
                   + "\"s3\",,\"\"\r\n";

        var samples = MetadataParser.ParseCsv(text, Csv);

        Assert.Equal(["s1", "s2", "s3"], samples.Select(s => s.Name));
        Assert.Equal("a, b", samples[0].Columns["description"]);
        Assert.Equal("s2 \"quoted\".fq", samples[1].Columns["file_name"]);
        Assert.Equal("line one\nline two", samples[1].Columns["description"]);
        Assert.Equal("", samples[2].Columns["file_name"]);
        Assert.Equal("", samples[2].Columns["description"]);
    }

    [Theory]
    [InlineData("sample_name,x\na,1\nb,2\n")]
    [InlineData("sample_name,x\na,1\nb,2")]
    [InlineData("sample_name,x\r\na,1\r\nb,2\r\n")]
    [InlineData("sample_name,x\r\na,1\r\nb,2")]
    [InlineData("\uFEFFsample_name,x\na,1\nb,2\n")]
    [InlineData("\n\nsample_name,x\n\na,1\r\n\r\n\nb,2\n\n")]
    [InlineData("sample_name,x\ra,1\rb,2\r")]
    [InlineData(" sample_name ,x\n a ,1\nb,2\n")]
    public void ParseCsv_LineEndingsBomBlankLinesAndTrailingNewline_GiveTheSameSamples(string text)
    {
        var samples = MetadataParser.ParseCsv(text, Csv);

        Assert.Equal(["a", "b"], samples.Select(s => s.Name));
        Assert.Equal("a", samples[0].Columns["sample_name"]);
        Assert.Equal("1", samples[0].Columns["x"]);
        Assert.Equal("2", samples[1].Columns["x"]);
        Assert.Equal(2, samples[1].Columns.Count);
    }

    [Fact]
    public void ParseCsv_WithAnotherSampleColumn_UsesIt()
    {
        var samples = MetadataParser.ParseCsv("id,x\na,1\n", Csv, "id");

        var sample = Assert.Single(samples);
        Assert.Equal("a", sample.Name);
        Assert.Equal("a", sample.Columns["sample_name"]);
    }

    [Fact]
    public void ParseCsv_WithoutSampleNameColumn_ListsTheColumns()
    {
        var error = SingleCsvError("name,file_name,description\na,b,c\n");

        Assert.Equal("header", error.Field);
        Assert.Equal("no 'sample_name' column; the columns are: name, file_name, description", error.Message);
    }

    [Fact]
    public void ParseCsv_DuplicateSampleName_NamesTheLineOfTheFirst()
    {
        var error = SingleCsvError("sample_name,x\na,1\nb,2\na,3\n");

        Assert.Equal("line 4.sample_name", error.Field);
        Assert.Equal("duplicate sample 'a' (first at line 2)", error.Message);
    }

    [Fact]
    public void ParseCsv_LineNumbers_CountNewlinesInsideQuotedFields()
    {
        var error = SingleCsvError("sample_name,note\na,\"two\nlines\"\nb,x\na,y\n");

        Assert.Equal("line 5.sample_name", error.Field);
        Assert.Equal("duplicate sample 'a' (first at line 2)", error.Message);
    }

    [Fact]
    public void ParseCsv_DuplicateColumn_IsReported()
    {
        var error = SingleCsvError("sample_name,x,x\na,1,2\n");

        Assert.Equal("header", error.Field);
        Assert.Equal("column 'x' appears 2 times", error.Message);
    }

    [Theory]
    [InlineData("sample_name,x\na,1,2\n", "line 2", "has 3 fields; the header has 2")]
    [InlineData("sample_name,x,y\na,1,2\nb\n", "line 3", "has 1 fields; the header has 3")]
    public void ParseCsv_RaggedRow_NamesItsLine(string text, string field, string message)
    {
        var error = SingleCsvError(text);

        Assert.Equal(field, error.Field);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void ParseCsv_UnclosedQuote_NamesTheLineWhereItOpened()
    {
        var error = SingleCsvError("sample_name,x\na,1\nb,\"never closed\nc,3\n");

        Assert.Equal("line 3", error.Field);
        Assert.Equal("a quoted field is never closed", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\uFEFF")]
    [InlineData("\r\n\n")]
    public void ParseCsv_EmptyFile_AsksForAHeader(string text)
    {
        var error = SingleCsvError(text);

        Assert.Equal("", error.Field);
        Assert.StartsWith("is empty; expected a header row with a sample_name column", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sample_name,x\n")]
    [InlineData("sample_name,x")]
    [InlineData("sample_name,x\n\n\n")]
    public void ParseCsv_HeaderOnly_HasNoSamples(string text)
    {
        var error = SingleCsvError(text);

        Assert.Equal("", error.Field);
        Assert.Equal("has no samples", error.Message);
    }

    [Theory]
    [InlineData("sample_name,x\n,1\n")]
    [InlineData("sample_name,x\n\"  \",1\n")]
    public void ParseCsv_EmptySampleName_IsRequired(string text)
    {
        var error = SingleCsvError(text);

        Assert.Equal("line 2.sample_name", error.Field);
        Assert.StartsWith("required", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseCsv_SeveralBadRows_AreReportedTogether()
    {
        var exception = Assert.Throws<InputException>(() => MetadataParser.ParseCsv("sample_name,x\na\nb,1\nc,1,2\n", Csv));

        Assert.Equal(["line 2", "line 4"], exception.Errors.Select(e => e.Field));
    }

    [Fact]
    public void ParseJson_ListOfRecords_GivesSamplesWithNumbersAsText()
    {
        var text = """
            [
              { "sample_name": "s1", "reads": 1000, "ratio": 0.25, "paired": true, "note": null },
              { "sample_name": "s2", "reads": 2000, },
            ]
            """;

        var samples = MetadataParser.ParseJson(text, Json);

        Assert.Equal(["s1", "s2"], samples.Select(s => s.Name));
        Assert.Equal("1000", samples[0].Columns["reads"]);
        Assert.Equal("0.25", samples[0].Columns["ratio"]);
        Assert.Equal("true", samples[0].Columns["paired"]);
        Assert.Equal("", samples[0].Columns["note"]);
        Assert.Equal("2000", samples[1].Columns["reads"]);
    }

    [Theory]
    [InlineData("{ \"sample_name\": \"s1\" }", "", "expected a JSON list of sample records, got an object")]
    [InlineData("\"s1\"", "", "expected a JSON list of sample records, got the string \"s1\"")]
    [InlineData("[ \"s1\" ]", "[0]", "expected a sample record (an object), got the string \"s1\"")]
    [InlineData("[ { \"sample_name\": \"s1\", \"files\": [\"a\"] } ]", "[0].files", "expected a string or number, got a list of 1")]
    [InlineData("[ { \"x\": \"1\" } ]", "[0].sample_name", "required: every sample needs a non-empty name")]
    [InlineData("[ { \"sample_name\": \"a\" }, { \"sample_name\": \"a\" } ]", "[1].sample_name", "duplicate sample 'a' (first at [0])")]
    [InlineData("[ { \"sample_name\": \"a\\u0007b\" } ]", "[0].sample_name", "sample names must be printable text (no control characters)")]
    [InlineData("[]", "", "has no samples")]
    public void ParseJson_BadContent_NamesTheRecordAndField(string text, string field, string message)
    {
        var exception = Assert.Throws<InputException>(() => MetadataParser.ParseJson(text, Json));

        var error = Assert.Single(exception.Errors);
        Assert.Equal(Json, error.File);
        Assert.Equal(field, error.Field);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void ParseJson_InvalidJson_NamesTheLine()
    {
        var exception = Assert.Throws<InputException>(() => MetadataParser.ParseJson("[\n  { \"sample_name\": \"a\" },\n  { \"sample_name\": }\n]", Json));

        var error = Assert.Single(exception.Errors);
        Assert.Equal("is not valid JSON at line 3", error.Message);
    }
}

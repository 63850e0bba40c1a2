using System.Text;
using Batchkeeper.Core.Workflows;
using FsCheck;
using FsCheck.Xunit;

namespace Batchkeeper.Core.Tests.Properties;

/// <summary>
/// Whatever bytes a file holds, the workflow and metadata parsers report their own input error
/// (<see cref="InputException"/>) or a result, never another exception, and within bounded memory.
/// </summary>
public sealed class ParserPropertyTests
{
    /// <summary>Allocation allowed for one parse of an input of at most a few KiB.</summary>
    private const long MaxAllocatedBytes = 64L * 1024 * 1024;

    private const string ValidWorkflow = """
        {
          # a comment
          "workflow_name": "wordcount",
          "samples": "metadata.csv",
          "analyses": [
            { "name": "count", "job_definition": "wc:1", "queue": "local",
              "command": ["sh", "-c", "wc -w < inputs/{file_name} > results/{sample_name}.count"],
              "outputs": ["results/{sample_name}.count"], "parameters": { "t": "1" },
              "containerOverrides": { "vcpus": 2, "memory": 1024 }, "retry": { "max_attempts": 3, "memory_factor": 1.5 },
              "timeout_seconds": 600, "tags": { "k": "v" }, "environment": { "E": "{sample_name}" } },
            { "name": "report", "job_definition": "wr:1", "queue": "local", "outputs": ["s3://b/{sample_name}.txt"] },
          ],
        }
        """;

    private const string ValidCsv = "sample_name,file_name,note\r\na,a.txt,\"x, y\"\r\nb,b.txt,\"line\nbreak\"\r\n";

    private const string ValidJson = """[ { "sample_name": "a", "file_name": "a.txt", "n": 1 }, { "sample_name": "b", "file_name": null } ]""";

    /// <summary>Characters that matter to the formats: a mutation with them reaches the parsers' edge cases.</summary>
    private const string Significant = "{}[]\",:#/\\*\n\r\t\0 '{}}{a1.-eE+";

    [Property(MaxTest = 300)]
    public void RandomBytes_AreReportedAsInputErrors_OrParsed(byte[] bytes)
    {
        var text = Encoding.UTF8.GetString(bytes);
        AllParsers(text);
    }

    [Property(MaxTest = 500)]
    public void RandomMutationsOfValidFiles_AreReportedAsInputErrors_OrParsed(int seed, PositiveInt mutations)
    {
        var random = new Random(seed);
        foreach (var valid in new[] { ValidWorkflow, ValidCsv, ValidJson })
        {
            AllParsers(Mutate(valid, random, Math.Min(mutations.Get, 40)));
        }
    }

    private static string Mutate(string text, Random random, int count)
    {
        var result = new StringBuilder(text);
        for (var i = 0; i < count; i++)
        {
            var at = random.Next(result.Length + 1);
            var c = random.Next(4) == 0 ? (char)random.Next(0, 0xFFFF) : Significant[random.Next(Significant.Length)];
            switch (random.Next(5))
            {
                case 0 when at < result.Length:
                    result.Remove(at, 1);
                    break;
                case 1 when at < result.Length:
                    result[at] = c;
                    break;
                case 2:
                    // Repeat a slice: nesting, duplicated keys and records.
                    var start = random.Next(result.Length);
                    var slice = result.ToString(start, Math.Min(random.Next(1, 80), result.Length - start));
                    result.Insert(at, slice);
                    break;
                case 3 when at < result.Length:
                    result.Remove(at, result.Length - at);
                    break;
                default:
                    result.Insert(at, c);
                    break;
            }
        }

        return result.ToString();
    }

    private static void AllParsers(string text)
    {
        Bounded(() => WorkflowParser.Parse(text, "w.json", "p"));
        Bounded(() => MetadataParser.ParseCsv(text, "metadata.csv"));
        Bounded(() => MetadataParser.ParseJson(text, "metadata.json"));
    }

    private static void Bounded(Action parse)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            parse();
        }
        catch (InputException e)
        {
            // Its own error type, which always says which file.
            Assert.NotEmpty(e.Errors);
            Assert.All(e.Errors, error => Assert.False(string.IsNullOrEmpty(error.File)));
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < MaxAllocatedBytes, $"one parse allocated {allocated / (1024 * 1024)} MiB");
    }
}

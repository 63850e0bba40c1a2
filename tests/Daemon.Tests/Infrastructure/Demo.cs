namespace Batchkeeper.Daemon.Tests.Infrastructure;

/// <summary>Writes small projects like the demo: a metadata file, input files and a two-analysis workflow.</summary>
public static class Demo
{
    public const string Workflow = """
        {
          # two analyses per sample, as local processes
          "workflow_name": "wordcount",
          "analyses": [
            {
              "name": "count",
              "job_definition": "wordcount:1",
              "queue": "local",
              "command": ["sh", "-c", "mkdir -p results && wc -w < inputs/{file_name} | tr -d ' ' > results/{sample_name}.count"],
              "outputs": ["results/{sample_name}.count"],
            },
            {
              "name": "report",
              "job_definition": "wordreport:1",
              "queue": "local",
              "command": ["sh", "-c", "echo \"{sample_name}: $(cat results/{sample_name}.count) words\" > results/{sample_name}.report.txt"],
              "outputs": ["results/{sample_name}.report.txt"],
            },
          ],
        }
        """;

    /// <summary>One analysis whose job fails with exit 3 and gets one attempt: each slot fails for good.</summary>
    public const string Failing = """
        {
          "workflow_name": "failing",
          "analyses": [
            { "name": "align", "job_definition": "x:1", "queue": "local", "retry": { "max_attempts": 1 },
              "command": ["sh", "-c", "exit 3"], "outputs": ["out/{sample_name}.bam"] }
          ]
        }
        """;

    /// <summary>Creates <c>projects/{project}</c> with metadata and inputs for samples named with their word counts.</summary>
    public static string CreateProject(string projects, string project, params (string Sample, int Words)[] samples)
    {
        var folder = Path.Combine(projects, project);
        Directory.CreateDirectory(Path.Combine(folder, "inputs"));
        var lines = new List<string> { "sample_name,file_name" };
        foreach (var (sample, words) in samples)
        {
            File.WriteAllText(Path.Combine(folder, "inputs", sample + ".txt"), string.Join(' ', Enumerable.Repeat("word", words)) + "\n");
            lines.Add($"{sample},{sample}.txt");
        }

        File.WriteAllText(Path.Combine(folder, "metadata.csv"), string.Join("\r\n", lines) + "\r\n");
        return folder;
    }

    public static void AddSample(string folder, string sample, int words)
    {
        File.WriteAllText(Path.Combine(folder, "inputs", sample + ".txt"), string.Join(' ', Enumerable.Repeat("word", words)) + "\n");
        File.AppendAllText(Path.Combine(folder, "metadata.csv"), $"{sample},{sample}.txt\r\n");
    }

    /// <summary>Writes a file the way an editor's "save" does: a temp file renamed into place.</summary>
    public static void Drop(string path, string content)
    {
        var temp = Path.Combine(Path.GetDirectoryName(path)!, "." + Path.GetFileName(path) + ".swp");
        File.WriteAllText(temp, content);
        File.Move(temp, path, overwrite: true);
    }
}

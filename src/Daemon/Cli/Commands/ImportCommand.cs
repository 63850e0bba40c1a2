using System.Text.Json;
using Batchkeeper.Core.Workflows;
using Batchkeeper.Daemon.Snapshots;

namespace Batchkeeper.Daemon.Cli.Commands;

/// <summary><c>import</c>: a project folder with metadata.json from a CSV of samples.</summary>
internal sealed class ImportCommand(CliContext context)
{
    /// <summary><c>import</c>: creates the project folder with metadata.json (and a copy of the CSV).</summary>
    public async Task<int> ImportAsync(string project, string csvPath, string sampleColumn, string? fileColumn, CancellationToken cancellationToken, bool force = false)
    {
        if (!WorkflowParser.IsSafeName(project))
        {
            return context.Fail(ExitCodes.Usage, $"project name '{project}' may hold only letters, digits, '_', '-' and '.' (not leading)");
        }

        if (!File.Exists(csvPath))
        {
            return context.Fail(ExitCodes.Usage, $"{csvPath}: no such file");
        }

        IReadOnlyList<Sample> samples;
        try
        {
            samples = MetadataParser.ParseCsv(await File.ReadAllTextAsync(csvPath, cancellationToken), Path.GetFileName(csvPath), sampleColumn);
        }
        catch (InputException e)
        {
            foreach (var problem in e.Errors)
            {
                // The sample column is the one thing on the command line the CSV can disagree with: say how to name it.
                var hint = problem.Field == "header" && problem.Message.StartsWith($"no '{sampleColumn}' column", StringComparison.Ordinal)
                    ? "; name the column of sample names with --sample-col"
                    : "";
                context.Error.WriteLine($"batchkeeper: {problem}{hint}");
            }

            return ExitCodes.Usage;
        }

        if (fileColumn is not null && samples.Any(s => !s.Columns.ContainsKey(fileColumn)))
        {
            return context.Fail(ExitCodes.Usage, $"{Path.GetFileName(csvPath)}: header: no '{fileColumn}' column (--file-col)");
        }

        var folder = Path.Combine(context.ProjectsRoot, project);
        var target = Path.Combine(folder, "metadata.json");
        if (File.Exists(target) && !force)
        {
            // Replacing a project's samples changes every workflow of it at once (removed samples stop being managed).
            return context.Fail(ExitCodes.Usage, $"{target} exists; use --force to replace the project's samples");
        }

        Directory.CreateDirectory(folder);
        var records = samples.Select(s =>
        {
            var record = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var (key, value) in s.Columns.Where(c => c.Key != sampleColumn))
            {
                record[key == fileColumn ? "file_name" : key] = value;
            }

            record[MetadataParser.SampleColumn] = s.Name;
            return record;
        }).ToArray();
        await AtomicFile.WriteAsync(target, JsonSerializer.SerializeToUtf8Bytes(records, CliFormat.Indented), cancellationToken);
        File.Copy(csvPath, Path.Combine(folder, "metadata.source.csv"), overwrite: true);
        context.Output.WriteLine($"project {project}: {samples.Count} samples written to {Path.Combine(folder, "metadata.json")}");
        return ExitCodes.Ok;
    }

}

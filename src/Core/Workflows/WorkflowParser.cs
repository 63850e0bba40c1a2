using System.Text.Json;
using System.Text.RegularExpressions;
using static Batchkeeper.Core.Workflows.JsonFields;

namespace Batchkeeper.Core.Workflows;


/// <summary>
/// Parses a workflow file: the seed format (aws-batch-helpers) with Batchkeeper's additions.
/// Reports every problem at once, each naming the file, the field and what was expected.
/// </summary>
public static partial class WorkflowParser
{
    internal static readonly string[] SeedBookkeepingKeys = ["jobs", "status", "job_ids", "_sample", "_filepath"];

    private static readonly string[] TopLevelKeys = ["workflow_name", "project_name", "samples", "analyses", "cancel", .. SeedBookkeepingKeys];

    /// <summary>Names that reach job names and paths: letters, digits, <c>_</c>, <c>-</c>, <c>.</c>, not leading with <c>.</c>.</summary>
    [GeneratedRegex("^[A-Za-z0-9_-][A-Za-z0-9_.-]*$")]
    internal static partial Regex SafeName();

    /// <summary>Whether <paramref name="name"/> may name a workflow, analysis or project.</summary>
    public static bool IsSafeName(string name) => SafeName().IsMatch(name);

    /// <summary>Parses <paramref name="text"/>, the content of <paramref name="fileName"/> in project <paramref name="projectName"/>.</summary>
    /// <exception cref="InputException">The file cannot be used; every problem found is listed.</exception>
    public static Workflow Parse(string text, string fileName, string projectName)
    {
        var errors = new List<InputError>();
        void Error(string field, string message) => errors.Add(new InputError(fileName, field, message));

        JsonDocument document;
        var stripped = HashComments.Strip(text);
        try
        {
            document = JsonDocument.Parse(stripped, new JsonDocumentOptions
            {
                AllowTrailingCommas = true,
                CommentHandling = JsonCommentHandling.Skip,
                MaxDepth = 64,
            });
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $" at line {line + 1}, column {Column(stripped, line, e.BytePositionInLine ?? 0)}" : "";
            throw new InputException([new InputError(fileName, "", $"is not valid JSON{where}: {Quoted.Escape(FirstSentence(e.Message))}")]);
        }
        catch (ArgumentException)
        {
            // Text that is not valid UTF-16 (a lone surrogate) cannot be transcoded to parse; a file decoded as UTF-8 never is.
            throw new InputException([new InputError(fileName, "", "is not valid text (it holds a lone UTF-16 surrogate)")]);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new InputException([new InputError(fileName, "", $"expected a JSON object with workflow_name and analyses, got {Describe(root)}")]);
            }

            var notes = new List<string>();
            foreach (var property in root.EnumerateObject())
            {
                if (SeedBookkeepingKeys.Contains(property.Name))
                {
                    notes.Add($"{fileName}: {property.Name}: ignored (seed bookkeeping; Batchkeeper keeps its state in the status snapshot)");
                }
                else if (!TopLevelKeys.Contains(property.Name))
                {
                    Error(property.Name, $"unknown field; expected one of {string.Join(", ", TopLevelKeys.Except(SeedBookkeepingKeys))}");
                }
            }

            var name = RequiredString(root, "workflow_name", "workflow_name", Error);
            if (name is not null && !SafeName().IsMatch(name))
            {
                Error("workflow_name", $"'{name}' may hold only letters, digits, '_', '-' and '.' (not leading): it becomes part of job names and paths");
            }

            var declaredProject = OptionalString(root, "project_name", "project_name", Error);
            if (declaredProject is not null && declaredProject != projectName)
            {
                Error("project_name", $"'{declaredProject}' does not match the project folder '{projectName}'; remove it or move the file");
            }

            var samples = ParseSamples(root, Error);
            var cancel = OptionalBool(root, "cancel", "cancel", Error) ?? false;

            var analyses = new List<Analysis>();
            if (!root.TryGetProperty("analyses", out var analysesElement))
            {
                Error("analyses", "required: a non-empty list of analyses");
            }
            else if (analysesElement.ValueKind != JsonValueKind.Array || analysesElement.GetArrayLength() == 0)
            {
                Error("analyses", $"expected a non-empty list of analyses, got {Describe(analysesElement)}");
            }
            else
            {
                var index = 0;
                foreach (var element in analysesElement.EnumerateArray())
                {
                    var analysis = AnalysisParser.Parse(element, $"analyses[{index}]", Error, notes, fileName);
                    if (analysis is not null)
                    {
                        analyses.Add(analysis);
                    }

                    index++;
                }

                foreach (var duplicate in analyses.GroupBy(a => a.Name).Where(g => g.Count() > 1))
                {
                    Error("analyses", $"analysis name '{duplicate.Key}' is used {duplicate.Count()} times; names must be unique (set 'name' on each)");
                }
            }

            if (errors.Count > 0)
            {
                throw new InputException(errors);
            }

            return new Workflow(name!, declaredProject, samples, analyses, cancel, notes);
        }
    }

    private static SampleSource ParseSamples(JsonElement root, Action<string, string> error)
    {
        if (!root.TryGetProperty("samples", out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return SampleSource.Default;
        }

        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                var file = element.GetString()!;
                if (file.Length == 0 || Path.IsPathRooted(file) || file.Split('/', '\\').Contains(".."))
                {
                    error("samples", $"'{file}' must be a file name inside the project folder (no absolute path, no '..')");
                }

                return new SampleSource(file, null);
            case JsonValueKind.Array:
                var records = new List<IReadOnlyDictionary<string, string>>();
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    var record = StringMap(item, $"samples[{i}]", error);
                    if (record is not null)
                    {
                        records.Add(record);
                    }

                    i++;
                }

                return new SampleSource(null, records);
            default:
                error("samples", $"expected a metadata file name or a list of sample records, got {Describe(element)}");
                return SampleSource.Default;
        }
    }

    /// <summary>
    /// The 1-based column, in characters, of a byte offset into line <paramref name="line"/> (0-based): what an editor
    /// shows, where System.Text.Json counts UTF-8 bytes.
    /// </summary>
    private static long Column(string text, long line, long bytePosition)
    {
        var start = 0;
        for (var i = 0L; i < line && start >= 0; i++)
        {
            start = text.IndexOf('\n', start) is var next and >= 0 ? next + 1 : -1;
        }

        if (start < 0)
        {
            return bytePosition + 1;
        }

        var end = text.IndexOf('\n', start);
        var bytes = System.Text.Encoding.UTF8.GetBytes(text[start..(end < 0 ? text.Length : end)]);
        return System.Text.Encoding.UTF8.GetCharCount(bytes, 0, (int)Math.Min(bytePosition, bytes.Length)) + 1;
    }

    /// <summary>The name of a job definition reference, without revision or ARN prefix.</summary>
    public static string DefinitionNameOf(string jobDefinition) => DefinitionName(jobDefinition) ?? jobDefinition;

    /// <summary><c>famli:14</c> and <c>arn:…:job-definition/famli:14</c> both give <c>famli</c>.</summary>
    internal static string? DefinitionName(string? jobDefinition)
    {
        if (string.IsNullOrEmpty(jobDefinition))
        {
            return null;
        }

        var name = jobDefinition[(jobDefinition.LastIndexOf('/') + 1)..];
        var colon = name.IndexOf(':', StringComparison.Ordinal);
        return colon >= 0 ? name[..colon] : name;
    }

    /// <summary>What a JSON value is, for an error message (forwards to <see cref="JsonFields.Describe"/>, which MetadataParser uses).</summary>
    internal static string Describe(JsonElement element) => JsonFields.Describe(element);
}

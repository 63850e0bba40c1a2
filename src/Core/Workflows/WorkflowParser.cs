using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Batchkeeper.Core.Workflows;

/// <summary>
/// Parses a workflow file: the seed format (aws-batch-helpers) with Batchkeeper's additions.
/// Reports every problem at once, each naming the file, the field and what was expected.
/// </summary>
public static partial class WorkflowParser
{
    private static readonly string[] SeedBookkeepingKeys = ["jobs", "status", "job_ids", "_sample", "_filepath"];

    private static readonly string[] TopLevelKeys = ["workflow_name", "project_name", "samples", "analyses", "cancel", .. SeedBookkeepingKeys];

    private static readonly string[] AnalysisKeys =
    [
        "name", "job_definition", "queue", "description", "outputs", "parameters", "command", "environment",
        "containerOverrides", "retry", "timeout_seconds", "timeout", "tags", .. SeedBookkeepingKeys,
    ];

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
        try
        {
            document = JsonDocument.Parse(StripHashComments(text), new JsonDocumentOptions
            {
                AllowTrailingCommas = true,
                CommentHandling = JsonCommentHandling.Skip,
                MaxDepth = 64,
            });
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $" at line {line + 1}, column {e.BytePositionInLine + 1}" : "";
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
                    var analysis = ParseAnalysis(element, $"analyses[{index}]", Error, notes, fileName);
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

    private static Analysis? ParseAnalysis(JsonElement element, string path, Action<string, string> error, List<string> notes, string fileName)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            error(path, $"expected an analysis object, got {Describe(element)}");
            return null;
        }

        var failed = false;
        void Error(string field, string message)
        {
            failed = true;
            error(field, message);
        }

        foreach (var property in element.EnumerateObject())
        {
            if (SeedBookkeepingKeys.Contains(property.Name))
            {
                notes.Add($"{fileName}: {path}.{property.Name}: ignored (seed bookkeeping)");
            }
            else if (!AnalysisKeys.Contains(property.Name))
            {
                Error($"{path}.{property.Name}", $"unknown field; expected one of {string.Join(", ", AnalysisKeys.Except(SeedBookkeepingKeys))}");
            }
        }

        var jobDefinition = RequiredString(element, "job_definition", $"{path}.job_definition", Error);
        var queue = RequiredString(element, "queue", $"{path}.queue", Error);
        var name = OptionalString(element, "name", $"{path}.name", Error) ?? DefinitionName(jobDefinition);
        if (name is not null && !SafeName().IsMatch(name))
        {
            Error($"{path}.name", $"'{name}' may hold only letters, digits, '_', '-' and '.' (not leading): it becomes part of job names");
        }

        var outputs = StringList(element, "outputs", $"{path}.outputs", Error);
        if (outputs is null || outputs.Count == 0)
        {
            // StringList has already reported a value of the wrong type; absent and null are reported here.
            if (outputs is not null || !element.TryGetProperty("outputs", out var outputsElement) || outputsElement.ValueKind == JsonValueKind.Null)
            {
                Error($"{path}.outputs", "required: a non-empty list of output URIs (s3://…, file://… or a path); without outputs a slot can never be known to be done");
            }
        }

        var command = element.TryGetProperty("command", out var commandElement) && commandElement.ValueKind != JsonValueKind.Null
            ? StringList(element, "command", $"{path}.command", Error)
            : null;
        if (command is { Count: 0 })
        {
            Error($"{path}.command", "expected a non-empty list of strings (the program and its arguments)");
        }

        int? vcpus = null, memory = null;
        if (element.TryGetProperty("containerOverrides", out var overrides) && overrides.ValueKind != JsonValueKind.Null)
        {
            if (overrides.ValueKind != JsonValueKind.Object)
            {
                Error($"{path}.containerOverrides", $"expected an object with vcpus and/or memory, got {Describe(overrides)}");
            }
            else
            {
                foreach (var property in overrides.EnumerateObject().Where(p => p.Name is not ("vcpus" or "memory")))
                {
                    Error($"{path}.containerOverrides.{property.Name}", "unknown field; expected vcpus or memory (MiB)");
                }

                vcpus = PositiveInt(overrides, "vcpus", $"{path}.containerOverrides.vcpus", Error);
                memory = PositiveInt(overrides, "memory", $"{path}.containerOverrides.memory", Error);
            }
        }

        var retry = RetrySettings.None;
        if (element.TryGetProperty("retry", out var retryElement) && retryElement.ValueKind != JsonValueKind.Null)
        {
            if (retryElement.ValueKind != JsonValueKind.Object)
            {
                Error($"{path}.retry", $"expected an object with max_attempts, memory_factor, max_memory, got {Describe(retryElement)}");
            }
            else
            {
                foreach (var property in retryElement.EnumerateObject().Where(p => p.Name is not ("max_attempts" or "memory_factor" or "max_memory")))
                {
                    Error($"{path}.retry.{property.Name}", "unknown field; expected max_attempts, memory_factor or max_memory");
                }

                var factor = PositiveNumber(retryElement, "memory_factor", $"{path}.retry.memory_factor", Error);
                if (factor is < 1)
                {
                    Error($"{path}.retry.memory_factor", $"expected a number of at least 1, got {factor.Value.ToString(CultureInfo.InvariantCulture)}");
                }

                retry = new RetrySettings(
                    PositiveInt(retryElement, "max_attempts", $"{path}.retry.max_attempts", Error),
                    factor,
                    PositiveInt(retryElement, "max_memory", $"{path}.retry.max_memory", Error));
            }
        }

        var timeout = PositiveInt(element, "timeout_seconds", $"{path}.timeout_seconds", Error)
                      ?? PositiveInt(element, "timeout", $"{path}.timeout", Error);
        if (timeout is < 60)
        {
            Error(element.TryGetProperty("timeout_seconds", out _) ? $"{path}.timeout_seconds" : $"{path}.timeout", $"expected at least 60 seconds (AWS Batch's minimum), got {timeout}");
        }

        var parameters = OptionalMap(element, "parameters", $"{path}.parameters", Error);
        var environment = OptionalMap(element, "environment", $"{path}.environment", Error);
        var tags = OptionalMap(element, "tags", $"{path}.tags", Error);
        var description = OptionalString(element, "description", $"{path}.description", Error);

        if (failed || jobDefinition is null || queue is null || name is null || outputs is null)
        {
            return null;
        }

        return new Analysis(name, jobDefinition, queue, description, outputs, parameters, command, environment, vcpus, memory, retry, timeout, tags);
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

    /// <summary>
    /// Removes <c>#</c> comments (to the end of the line) outside JSON strings, as the seed tool allowed.
    /// <c>//</c> and <c>/* */</c> comments are left to the JSON reader.
    /// </summary>
    internal static string StripHashComments(string text)
    {
        if (!text.Contains('#', StringComparison.Ordinal))
        {
            return text;
        }

        var result = new StringBuilder(text.Length);
        var inString = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (inString)
            {
                result.Append(c);
                if (c == '\\' && i + 1 < text.Length)
                {
                    result.Append(text[++i]);
                }
                else if (c == '"')
                {
                    inString = false;
                }
            }
            else if (c == '"')
            {
                inString = true;
                result.Append(c);
            }
            else if (c == '#')
            {
                // Keep the newline so line numbers in later errors stay right.
                while (i + 1 < text.Length && text[i + 1] != '\n')
                {
                    i++;
                }
            }
            else
            {
                result.Append(c);
            }
        }

        return result.ToString();
    }

    private static string? RequiredString(JsonElement parent, string key, string field, Action<string, string> error)
    {
        if (!parent.TryGetProperty(key, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            error(field, "required: a non-empty string");
            return null;
        }

        if (element.ValueKind != JsonValueKind.String || element.GetString()!.Trim().Length == 0)
        {
            error(field, $"expected a non-empty string, got {Describe(element)}");
            return null;
        }

        return element.GetString();
    }

    private static string? OptionalString(JsonElement parent, string key, string field, Action<string, string> error)
    {
        if (!parent.TryGetProperty(key, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return RequiredString(parent, key, field, error);
    }

    private static bool? OptionalBool(JsonElement parent, string key, string field, Action<string, string> error)
    {
        if (!parent.TryGetProperty(key, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return element.GetBoolean();
        }

        error(field, $"expected true or false, got {Describe(element)}");
        return null;
    }

    private static int? PositiveInt(JsonElement parent, string key, string field, Action<string, string> error)
    {
        var number = PositiveNumber(parent, key, field, error);
        if (number is null)
        {
            return null;
        }

        if (number != Math.Floor(number.Value) || number > int.MaxValue)
        {
            error(field, $"expected a whole number, got {number.Value.ToString(CultureInfo.InvariantCulture)}");
            return null;
        }

        return (int)number.Value;
    }

    private static double? PositiveNumber(JsonElement parent, string key, string field, Action<string, string> error)
    {
        if (!parent.TryGetProperty(key, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        double value;
        if (element.ValueKind == JsonValueKind.Number)
        {
            value = element.GetDouble();
        }
        else if (element.ValueKind == JsonValueKind.String
                 && double.TryParse(element.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
        {
            value = parsed;
        }
        else
        {
            error(field, $"expected a positive number, got {Describe(element)}");
            return null;
        }

        if (value <= 0 || double.IsNaN(value) || double.IsInfinity(value))
        {
            error(field, $"expected a positive number, got {value.ToString(CultureInfo.InvariantCulture)}");
            return null;
        }

        return value;
    }

    private static List<string>? StringList(JsonElement parent, string key, string field, Action<string, string> error)
    {
        if (!parent.TryGetProperty(key, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            error(field, $"expected a list of strings, got {Describe(element)}");
            return null;
        }

        var list = new List<string>();
        var i = 0;
        foreach (var item in element.EnumerateArray())
        {
            if (Scalar(item) is { } text)
            {
                list.Add(text);
            }
            else
            {
                error($"{field}[{i}]", $"expected a string, got {Describe(item)}");
            }

            i++;
        }

        return list;
    }

    private static Dictionary<string, string> OptionalMap(JsonElement parent, string key, string field, Action<string, string> error)
    {
        if (!parent.TryGetProperty(key, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return new Dictionary<string, string>();
        }

        return StringMap(element, field, error) ?? new Dictionary<string, string>();
    }

    private static Dictionary<string, string>? StringMap(JsonElement element, string field, Action<string, string> error)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            error(field, $"expected an object of names to strings, got {Describe(element)}");
            return null;
        }

        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            if (Scalar(property.Value) is { } text)
            {
                map[property.Name] = text;
            }
            else
            {
                error($"{field}.{property.Name}", $"expected a string or number, got {Describe(property.Value)}");
            }
        }

        return map;
    }

    /// <summary>Strings as they are; numbers and booleans as their JSON text (the seed wrote <c>"threads": 16</c> too).</summary>
    private static string? Scalar(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => null,
    };

    internal static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{Truncate(element.GetString()!)}\"",
        JsonValueKind.Number => $"the number {element.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => $"{element.GetRawText()}",
        JsonValueKind.Array => $"a list of {element.GetArrayLength()}",
        JsonValueKind.Object => "an object",
        JsonValueKind.Null => "null",
        _ => element.ValueKind.ToString(),
    };

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}

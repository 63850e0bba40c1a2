using Batchkeeper.Core.Workflows;

namespace Batchkeeper.Core.Planning;

/// <summary>
/// One analysis of a planned workflow: its templates, its retry limits, and the expansions every sample shares.
/// The planner expands a slot's job through it once, to check it and hash it; <see cref="JobSpec.Job"/> expands it
/// again when it is needed, so that a plan keeps no per-slot copy of what its templates already say.
/// </summary>
internal sealed class AnalysisTemplates(Workflow workflow, Analysis analysis, int index, WorkflowLocation location, RetryLimits retry)
{
    private static readonly IReadOnlyDictionary<string, string> NoEntries = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// Expansions of templates whose placeholders are the same for every sample (a queue, a tag of {project_name}):
    /// one string for all the slots. Written only while planning; read afterwards (a plan is never planned again).
    /// </summary>
    private readonly Dictionary<string, string> _sampleIndependent = new(StringComparer.Ordinal);

    /// <summary>Where the analysis is in the workflow file, for errors: <c>analyses[0]</c>.</summary>
    private readonly string _path = $"analyses[{index}]";

    /// <summary>The placeholders of each command element, each once: what the check for <c>Ref::</c> in values looks at.</summary>
    private readonly string[][] _commandPlaceholders =
        analysis.Command?.Select(part => Template.Placeholders(part).Distinct(StringComparer.Ordinal).ToArray()).ToArray() ?? [];

    /// <summary>The parameters' names in ordinal order: how a spec's hash lists them (the same for every slot).</summary>
    public string[] SortedParameterNames { get; } = [.. analysis.Parameters.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The environment's names in ordinal order, as <see cref="SortedParameterNames"/>.</summary>
    public string[] SortedEnvironmentNames { get; } = [.. analysis.Environment.Keys.Order(StringComparer.Ordinal)];

    public Analysis Analysis => analysis;

    public RetryLimits Retry { get; } = retry;

    /// <summary>The values a template of this analysis may name for <paramref name="sample"/>.</summary>
    public Dictionary<string, string> Values(Sample sample) =>
        new(sample.Columns, StringComparer.Ordinal)
        {
            ["project_name"] = location.Project,
            ["workflow_name"] = workflow.Name,
            ["sample_name"] = sample.Name,
            ["analysis_name"] = analysis.Name,
        };

    /// <summary>The job for one sample, at submission: the planner checked it, so it expands without errors.</summary>
    public JobTemplate Expand(Sample sample) => Expand(Values(sample), errors: null, learn: false);

    /// <summary>
    /// Expands the job for one sample's values, adding what is wrong to <paramref name="errors"/> (prefixed with the
    /// field, e.g. <c>analyses[0].parameters.x</c>). <paramref name="learn"/>: remember expansions every sample shares.
    /// </summary>
    public JobTemplate Expand(Dictionary<string, string> values, List<string>? errors, bool learn = true)
    {
        var path = _path;

        string ExpandOne(string template, string field, string? member = null, int item = -1) =>
            ExpandTemplate(template, new Field(field, member, item), values, errors, learn);

        IReadOnlyDictionary<string, string> ExpandMap(IReadOnlyDictionary<string, string> map, string field)
        {
            if (map.Count == 0)
            {
                return NoEntries;
            }

            var expanded = new Dictionary<string, string>(map.Count, StringComparer.Ordinal);
            foreach (var (key, template) in map)
            {
                expanded.Add(key, ExpandOne(template, field, member: key));
            }

            return expanded;
        }

        // Submissions send the queue and job definition as planned (and adoption lists jobs by queue), so
        // they cannot depend on the attempt; their escaped braces are resolved here rather than at submission.
        string Fixed(string template, string field)
        {
            var expanded = ExpandOne(template, field);
            if (Template.UsesAttempt(expanded))
            {
                errors?.Add($"{path}.{field}: may not use {{attempt}}: every attempt of a slot runs with the same {field}");
            }

            return Template.Finalize(expanded, 1);
        }

        var jobDefinition = Fixed(analysis.JobDefinition, "job_definition");
        var queue = Fixed(analysis.Queue, "queue");
        var parameters = ExpandMap(analysis.Parameters, "parameters");
        var command = analysis.Command?.Select((c, i) => ExpandOne(c, "command", item: i)).ToArray();
        for (var i = 0; errors is not null && i < (analysis.Command?.Count ?? 0); i++)
        {
            // Templates are expanded once: Batch (and the local backend) replace Ref::name in a command with a
            // parameter, so a value placed in a command that holds Ref:: would be substituted a second time.
            foreach (var name in _commandPlaceholders[i])
            {
                if (values.TryGetValue(name, out var value) && value.Contains("Ref::", StringComparison.Ordinal))
                {
                    errors.Add($"{path}.command[{i}]: the value of {{{name}}} holds 'Ref::', which the backend would replace with a parameter; a value placed in a command may not hold it");
                }
            }
        }

        var environment = ExpandMap(analysis.Environment, "environment");
        var tags = ExpandMap(analysis.Tags, "tags");
        return new JobTemplate(queue, jobDefinition, parameters, command, environment, analysis.Vcpus, analysis.MemoryMiB, analysis.TimeoutSeconds, tags);
    }

    /// <summary>One output template, expanded for these values (the template itself, with the error added, when it cannot be).</summary>
    public string ExpandOutput(int i, Dictionary<string, string> values, List<string> errors) =>
        ExpandTemplate(analysis.Outputs[i], new Field("outputs", null, i), values, errors, learn: true);

    /// <summary>
    /// The field a template fills, e.g. <c>parameters.x</c> or <c>command[2]</c>, written out only for an error: the
    /// planner expands every field of every slot, and almost none has one.
    /// </summary>
    private readonly record struct Field(string Name, string? Member, int Item)
    {
        public override string ToString() =>
            Member is not null ? $"{Name}.{Member}" : Item >= 0 ? $"{Name}[{Item}]" : Name;
    }

    /// <summary>
    /// One template, expanded for these values: the shared expansion when every sample has the same (learnt, when
    /// <paramref name="learn"/>, for the next slots); the template itself, with the error added, when it cannot be.
    /// </summary>
    private string ExpandTemplate(string template, Field field, Dictionary<string, string> values, List<string>? errors, bool learn)
    {
        if (_sampleIndependent.TryGetValue(template, out var known))
        {
            return known;
        }

        var result = Template.Expand(template, values, out var error);
        if (result is null)
        {
            errors?.Add($"analyses[{index}].{field}: {error}");
            return template;
        }

        if (learn && IsSampleIndependent(template))
        {
            _sampleIndependent[template] = result;
        }

        return result;
    }

    /// <summary>Placeholders whose value is the same for every sample of a workflow's analysis.</summary>
    private static bool IsSampleIndependent(string template)
    {
        foreach (var name in Template.Placeholders(template))
        {
            if (name is not ("project_name" or "workflow_name" or "analysis_name" or Template.Attempt))
            {
                return false;
            }
        }

        return true;
    }
}

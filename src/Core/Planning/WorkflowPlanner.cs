using Batchkeeper.Core.Workflows;

namespace Batchkeeper.Core.Planning;

/// <summary>Expands a workflow over its samples into job slots: templates, job names, outputs, retry limits.</summary>
public static class WorkflowPlanner
{
    /// <summary>The environment variable that tells a job which outputs it is expected to write.</summary>
    public const string OutputsVariable = "BATCHKEEPER_OUTPUTS";

    /// <summary>Plans every slot. Problems local to a slot make that slot invalid; they never throw.</summary>
    public static WorkflowPlan Plan(Workflow workflow, IReadOnlyList<Sample> samples, WorkflowLocation location, RetryLimits defaults)
    {
        var slots = new List<PlannedSlot>(samples.Count * workflow.Analyses.Count);

        var sanitizedOwners = samples
            .GroupBy(s => JobNames.Sanitize(s.Name))
            .Where(g => g.Count() > 1)
            .SelectMany(g => g.Select(s => (s.Name, Others: g.Where(o => o.Name != s.Name).Select(o => o.Name).ToArray())))
            .ToDictionary(x => x.Name, x => x.Others, StringComparer.Ordinal);

        // Shared by every slot of an analysis: its templates and retry limits, and the expansions of templates that use
        // no sample column (a queue, a tag of {project_name}): a plan of thousands of slots is kept from pass to pass.
        var perAnalysis = workflow.Analyses.Select((analysis, index) => new AnalysisTemplates(workflow, analysis, index, location,
            new RetryLimits(
                analysis.Retry.MaxAttempts ?? defaults.MaxAttempts,
                analysis.Retry.MemoryFactor ?? defaults.MemoryFactor,
                analysis.Retry.MaxMemoryMiB ?? defaults.MaxMemoryMiB,
                defaults.MaxInterruptions,
                defaults.Backoff))).ToArray();

        foreach (var sample in samples)
        {
            // One dictionary of the sample's values for all its analyses: only {analysis_name} differs between them.
            Dictionary<string, string>? values = null;
            for (var index = 0; index < workflow.Analyses.Count; index++)
            {
                var analysis = workflow.Analyses[index];
                if (sanitizedOwners.TryGetValue(sample.Name, out var others))
                {
                    slots.Add(new PlannedSlot(sample.Name, index, analysis.Name, null,
                        $"sample name '{sample.Name}' gives the same job name as '{string.Join("', '", others)}' (characters other than letters, digits, '_' and '-' become '_'); rename one of them"));
                    continue;
                }

                values ??= perAnalysis[index].Values(sample);
                values["analysis_name"] = analysis.Name;
                slots.Add(PlanSlot(workflow, analysis, index, sample, values, location, perAnalysis[index]));
            }
        }

        MarkSharedOutputs(slots, location.FileName, workflow);
        return new WorkflowPlan(location, workflow.Name, workflow.Cancel, workflow.Analyses.Select(a => a.Name).ToArray(), slots);
    }

    private static PlannedSlot PlanSlot(
        Workflow workflow, Analysis analysis, int index, Sample sample, Dictionary<string, string> values, WorkflowLocation location, AnalysisTemplates templates)
    {
        var path = $"analyses[{index}]";
        var errors = new List<string>();
        var job = templates.Expand(values, errors);
        var (jobDefinition, queue, parameters, command, environment) = (job.JobDefinition, job.Queue, job.Parameters, job.Command, job.Environment);

        var outputs = new List<OutputLocation>();
        for (var i = 0; i < analysis.Outputs.Count; i++)
        {
            var expanded = templates.ExpandOutput(i, values, errors);
            if (Template.UsesAttempt(expanded))
            {
                errors.Add($"{path}.outputs[{i}]: may not use {{attempt}}: an output must name the same file whatever the attempt");
                continue;
            }

            var location1 = OutputLocation.Parse(Template.Finalize(expanded, 1), location.ProjectDirectory, out var error);
            if (location1 is null)
            {
                errors.Add($"{path}.outputs[{i}]: {error}");
            }
            else
            {
                outputs.Add(location1);
            }
        }

        if (errors.Count > 0)
        {
            return new PlannedSlot(sample.Name, index, analysis.Name, null, string.Join("; ", errors.Select(e => $"{location.FileName}: {e}")));
        }

        // The project and file are hashed too, so that two projects with the same workflow and sample names never
        // share (and adopt) each other's jobs. Each section is headed by its length, so no two different specs flatten
        // to the same list.
        var input = new JobNames.HashInput();
        input.Add(location.Project);
        input.Add(location.FileName);
        input.Add(jobDefinition);
        input.Add(queue);
        input.Add(analysis.Vcpus);
        input.Add(analysis.MemoryMiB);
        AddSorted(ref input, "parameters", parameters, templates.SortedParameterNames);
        if (command is null)
        {
            input.Add("command:none");
        }
        else
        {
            input.AddHeading("command", command.Count);
            foreach (var part in command)
            {
                input.Add(part);
            }
        }

        AddSorted(ref input, "environment", environment, templates.SortedEnvironmentNames);
        input.AddHeading("outputs", outputs.Count);
        foreach (var output in outputs)
        {
            input.Add(output.Uri);
        }

        var hash = input.Finish();

        // The outputs as an array of their exact size: a plan keeps them from pass to pass.
        var spec = new JobSpec(JobNames.For(workflow.Name, analysis.Name, sample.Name, hash), queue, outputs.ToArray(), templates, sample);
        return new PlannedSlot(sample.Name, index, analysis.Name, spec, null);
    }

    /// <summary>
    /// A map's section of the hash: its heading, then each key and value in ordinal order of the keys. An expanded map
    /// has its analysis's keys, so their order (<paramref name="sortedKeys"/>) is worked out once per analysis.
    /// </summary>
    private static void AddSorted(ref JobNames.HashInput input, string section, IReadOnlyDictionary<string, string> map, string[] sortedKeys)
    {
        input.AddHeading(section, map.Count);
        foreach (var key in sortedKeys)
        {
            input.Add(key);
            input.Add(map[key]);
        }
    }

    /// <summary>
    /// Two slots whose outputs expand to the same URI could never be told apart: both are invalid. The first owner of each
    /// URI is kept as an index, and a list made only for a URI that has a second, rather than a list for every output
    /// (3,000,000 of them at an institute's scale).
    /// </summary>
    private static void MarkSharedOutputs(List<PlannedSlot> slots, string fileName, Workflow workflow)
    {
        var first = new Dictionary<string, int>(slots.Count, StringComparer.Ordinal);
        Dictionary<string, List<int>>? owners = null;
        for (var i = 0; i < slots.Count; i++)
        {
            var outputs = slots[i].Spec?.Outputs ?? [];
            for (var k = 0; k < outputs.Count; k++)
            {
                var uri = outputs[k].Uri;
                if (first.TryAdd(uri, i) || first[uri] == i)
                {
                    continue;
                }

                owners ??= new Dictionary<string, List<int>>(StringComparer.Ordinal);
                if (!owners.TryGetValue(uri, out var list))
                {
                    owners[uri] = list = [first[uri]];
                }

                if (list[^1] != i)
                {
                    list.Add(i);
                }
            }
        }

        if (owners is null)
        {
            return;
        }

        foreach (var (uri, list) in owners)
        {
            foreach (var i in list)
            {
                var slot = slots[i];
                var other = slots[list.First(j => j != i)];
                var field = $"analyses[{slot.AnalysisIndex}].outputs";
                var hint = workflow.Analyses[slot.AnalysisIndex].Outputs.Any(o => o.Contains("{sample_name}", StringComparison.Ordinal))
                    ? ""
                    : " (add {sample_name} to the output)";
                slots[i] = slot with
                {
                    Spec = null,
                    Error = $"{fileName}: {field}: '{uri}' is also the output of sample '{other.Sample}', analysis '{other.Analysis}'{hint}",
                };
            }
        }
    }
}

using System.Globalization;
using System.Text.Json;
using static Batchkeeper.Core.Workflows.JsonFields;

namespace Batchkeeper.Core.Workflows;

/// <summary>One entry of a workflow's <c>analyses</c>: every field checked, every problem reported through the error callback.</summary>
internal static class AnalysisParser
{
    private static readonly string[] Keys =
    [
        "name", "job_definition", "queue", "description", "outputs", "parameters", "command", "environment",
        "containerOverrides", "retry", "timeout_seconds", "timeout", "tags", .. WorkflowParser.SeedBookkeepingKeys,
    ];

    internal static Analysis? Parse(JsonElement element, string path, Action<string, string> error, List<string> notes, string fileName)
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
            if (WorkflowParser.SeedBookkeepingKeys.Contains(property.Name))
            {
                notes.Add($"{fileName}: {path}.{property.Name}: ignored (seed bookkeeping)");
            }
            else if (!Keys.Contains(property.Name))
            {
                Error($"{path}.{property.Name}", $"unknown field; expected one of {string.Join(", ", Keys.Except(WorkflowParser.SeedBookkeepingKeys))}");
            }
        }

        var jobDefinition = RequiredString(element, "job_definition", $"{path}.job_definition", Error);
        var queue = RequiredString(element, "queue", $"{path}.queue", Error);
        var name = OptionalString(element, "name", $"{path}.name", Error) ?? WorkflowParser.DefinitionName(jobDefinition);
        if (name is not null && !WorkflowParser.SafeName().IsMatch(name))
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

        // Any whole number of seconds: AWS Batch's minimum of 60 is the AWS backend's to check (BackendOutputs), the
        // Local backend takes a 3 s timeout as it is.
        var timeout = PositiveInt(element, "timeout_seconds", $"{path}.timeout_seconds", Error)
                      ?? PositiveInt(element, "timeout", $"{path}.timeout", Error);

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
}

namespace Batchkeeper.Core.Workflows;

/// <summary>A parsed workflow file: a name and an ordered list of analyses, run once per sample.</summary>
/// <param name="Name">The <c>workflow_name</c>: letters, digits, <c>_</c>, <c>-</c> and <c>.</c> (not leading).</param>
/// <param name="ProjectName">The optional top-level <c>project_name</c> of seed files; it must match the folder.</param>
/// <param name="Samples">Where the samples come from: a file in the project folder, or inline records.</param>
/// <param name="Analyses">The analyses in chain order: analysis k of a sample waits for analysis k-1.</param>
/// <param name="Cancel">When true, active jobs are terminated and nothing new is submitted.</param>
/// <param name="Notes">Things the parser ignored on purpose (the seed's bookkeeping keys).</param>
public sealed record Workflow(
    string Name,
    string? ProjectName,
    SampleSource Samples,
    IReadOnlyList<Analysis> Analyses,
    bool Cancel,
    IReadOnlyList<string> Notes);

/// <summary>Either a metadata file name (relative to the project folder) or inline sample records.</summary>
public sealed record SampleSource(string? FileName, IReadOnlyList<IReadOnlyDictionary<string, string>>? Inline)
{
    /// <summary>No <c>samples</c> key: <c>metadata.csv</c>, then <c>metadata.json</c>.</summary>
    public static SampleSource Default { get; } = new(null, null);
}

/// <summary>One step of a workflow. Every string may hold <c>{placeholders}</c>.</summary>
public sealed record Analysis(
    string Name,
    string JobDefinition,
    string Queue,
    string? Description,
    IReadOnlyList<string> Outputs,
    IReadOnlyDictionary<string, string> Parameters,
    IReadOnlyList<string>? Command,
    IReadOnlyDictionary<string, string> Environment,
    int? Vcpus,
    int? MemoryMiB,
    RetrySettings Retry,
    int? TimeoutSeconds,
    IReadOnlyDictionary<string, string> Tags);

/// <summary>Per-analysis retry settings; a null value falls back to the daemon's configuration.</summary>
/// <param name="MaxAttempts">Attempts allowed for ordinary failures (interruptions have their own cap).</param>
/// <param name="MemoryFactor">Memory multiplier after an out-of-memory failure.</param>
/// <param name="MaxMemoryMiB">Memory escalation never goes above this, in MiB.</param>
public sealed record RetrySettings(int? MaxAttempts, double? MemoryFactor, int? MaxMemoryMiB)
{
    public static RetrySettings None { get; } = new(null, null, null);
}

namespace Batchkeeper.Core.Planning;

/// <summary>
/// A slot's job as it would be submitted, expanded for its sample. Strings may still hold
/// <c>{attempt}</c>: <see cref="JobTemplate.Finalize"/> fills it in at submission.
/// </summary>
/// <remarks>
/// A plan holds one of these for every slot of a workflow, from pass to pass, and thousands of workflows' plans at
/// once (issue 19: at most 1 KB per slot at 3,000,000 slots). So it keeps only what every pass reads of every slot
/// (the job name, the queue, the outputs, the limits of its analysis), and the rest of the job (parameters, command,
/// environment, tags: a dictionary or two and a string per field per slot) is expanded again from its analysis's
/// templates when it is asked for, at submission and by <c>validate</c>. Expansion is deterministic and was checked
/// when the plan was made, so it gives what the job name's hash was made from.
/// </remarks>
public sealed class JobSpec
{
    private readonly AnalysisTemplates _templates;
    private readonly Workflows.Sample _sample;

    internal JobSpec(string jobName, string queue, IReadOnlyList<OutputLocation> outputs, AnalysisTemplates templates, Workflows.Sample sample)
    {
        JobName = jobName;
        Queue = queue;
        Outputs = outputs;
        _templates = templates;
        _sample = sample;
    }

    /// <summary>The slot's Batch job name, ending in <c>-{hash of the expanded spec}</c>.</summary>
    public string JobName { get; }

    /// <summary>The hash of the expanded spec that ends <see cref="JobName"/>: another spec gives another name.</summary>
    public string SpecHash => JobName[^JobNames.HashLength..];

    /// <summary>The job queue it is submitted to (also <see cref="Job"/>'s, without expanding the rest).</summary>
    public string Queue { get; }

    /// <summary>vCPUs of its analysis, or null to keep the job definition's.</summary>
    public int? Vcpus => _templates.Analysis.Vcpus;

    /// <summary>Memory in MiB of its analysis, or null to keep the job definition's.</summary>
    public int? MemoryMiB => _templates.Analysis.MemoryMiB;

    public IReadOnlyList<OutputLocation> Outputs { get; }

    public RetryLimits Retry => _templates.Retry;

    /// <summary>The whole job, expanded now (not kept: see the remarks).</summary>
    public JobTemplate Job => _templates.Expand(_sample);
}

/// <summary>The retry settings of one analysis, with the daemon's defaults filled in.</summary>
/// <param name="MaxAttempts">Attempts for ordinary failures.</param>
/// <param name="MemoryFactor">Memory multiplier after an out-of-memory failure.</param>
/// <param name="MaxMemoryMiB">Memory ceiling for escalation, or null for none.</param>
/// <param name="MaxInterruptions">Free resubmissions after Spot or host loss.</param>
/// <param name="Backoff">Wait before the second attempt; doubled for each later one.</param>
public sealed record RetryLimits(int MaxAttempts, double MemoryFactor, int? MaxMemoryMiB, int MaxInterruptions, TimeSpan Backoff)
{
    /// <summary>The daemon's built-in defaults (overridden by <c>Batchkeeper:Retry</c>).</summary>
    public static RetryLimits Default { get; } = new(3, 1.5, null, 5, TimeSpan.FromMinutes(1));
}

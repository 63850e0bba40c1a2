namespace Batchkeeper.Core.Planning;

/// <summary>
/// What a job runs with: shared by the plan (<see cref="JobSpec"/>, whose strings may still hold <c>{attempt}</c>)
/// and the submission (<see cref="Ports.JobSubmission"/>, after <see cref="Finalize"/>).
/// </summary>
/// <param name="Vcpus">vCPUs, sent as a VCPU resource requirement; null keeps the job definition's.</param>
/// <param name="MemoryMiB">Memory in MiB, sent as a MEMORY resource requirement; null keeps the job definition's.</param>
/// <param name="TimeoutSeconds">Batch's attempt duration; null for none.</param>
public sealed record JobTemplate(
    string Queue,
    string JobDefinition,
    IReadOnlyDictionary<string, string> Parameters,
    IReadOnlyList<string>? Command,
    IReadOnlyDictionary<string, string> Environment,
    int? Vcpus,
    int? MemoryMiB,
    int? TimeoutSeconds,
    IReadOnlyDictionary<string, string> Tags)
{
    /// <summary>
    /// This template for one attempt: <c>{attempt}</c> filled in, in the parameters, command, environment and tags
    /// (the queue and job definition cannot use it: the planner refuses that).
    /// </summary>
    public JobTemplate Finalize(int attempt) => this with
    {
        Parameters = Fill(Parameters, attempt),
        Command = Command?.Select(c => Template.Finalize(c, attempt)).ToArray(),
        Environment = Fill(Environment, attempt),
        Tags = Fill(Tags, attempt),
    };

    private static Dictionary<string, string> Fill(IReadOnlyDictionary<string, string> map, int attempt) =>
        map.ToDictionary(kv => kv.Key, kv => Template.Finalize(kv.Value, attempt), StringComparer.Ordinal);
}

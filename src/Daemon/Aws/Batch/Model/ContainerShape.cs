namespace Batchkeeper.Daemon.Aws.Batch.Model;

/// <summary>
/// The members the model shapes <see cref="ContainerDetail"/> and <see cref="ContainerProperties"/> have in common
/// (the model repeats them in each shape; here they are written once).
/// </summary>
public abstract record ContainerShape
{
    public string? Image { get; init; }

    public int? Vcpus { get; init; }

    public int? Memory { get; init; }

    public IReadOnlyList<string> Command { get; init => field = value ?? []; } = [];

    public string? JobRoleArn { get; init; }

    public string? ExecutionRoleArn { get; init; }

    public IReadOnlyList<EnvironmentVariable> Environment { get; init => field = value ?? []; } = [];
}

namespace Batchkeeper.Daemon.Aws.Batch.Model;

// Request and response shapes of the AWS Batch API (service model batch-2016-08-10), the part the daemon
// uses. Each record is named after its model shape and serialised with camelCase names, so a property
// is the model member of the same name (checked against the model by the tests). Rules:
// - requests: members the model requires are `required`; the others are nullable and left out of the
//   JSON when null;
// - responses: the model's required identifiers are `required` (a response without them is rejected);
//   lists and maps are never null (empty when absent or null: the source-generated deserializer assigns
//   every init-only property, so the init accessor turns its null into an empty collection); other
//   members are nullable. `startedAt` is
//   nullable although the model requires it: Batch leaves it out until the job starts;
// - timestamps (epoch milliseconds on the wire) are DateTimeOffset;
// - enums are strings (see JobStatus, ResourceType…), so a value added to the service later still parses;
// - members the daemon has no use for (EKS/ECS/multi-node properties, consumable resources…) are not
//   modelled; unknown members in responses are ignored.

/// <summary>The values of the model enum <c>JobStatus</c>.</summary>
public static class JobStatus
{
    public const string Submitted = "SUBMITTED";
    public const string Pending = "PENDING";
    public const string Runnable = "RUNNABLE";
    public const string Starting = "STARTING";
    public const string Running = "RUNNING";
    public const string Succeeded = "SUCCEEDED";
    public const string Failed = "FAILED";

    /// <summary>Every status, in lifecycle order (the order <c>batchkeeper queue</c> prints them).</summary>
    public static IReadOnlyList<string> All { get; } = [Submitted, Pending, Runnable, Starting, Running, Succeeded, Failed];

    /// <summary>Whether a job in <paramref name="status"/> may still run (neither SUCCEEDED nor FAILED).</summary>
    public static bool IsActive(string status) => status is not (Succeeded or Failed);
}

/// <summary>The values of the model enum <c>ResourceType</c>.</summary>
public static class ResourceType
{
    public const string Vcpu = "VCPU";

    /// <summary>Memory in MiB.</summary>
    public const string Memory = "MEMORY";

    public const string Gpu = "GPU";
}

/// <summary>The values of the model enum <c>ArrayJobDependency</c>.</summary>
public static class ArrayJobDependency
{
    public const string NToN = "N_TO_N";
    public const string Sequential = "SEQUENTIAL";
}

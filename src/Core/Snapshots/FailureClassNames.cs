namespace Batchkeeper.Core.Snapshots;

/// <summary>A failure class as the snapshot writes it (<c>out_of_memory</c>), for log lines and messages that quote it.</summary>
public static class FailureClassNames
{
    public static string ToWire(this FailureClass failure) => failure switch
    {
        FailureClass.OutOfMemory => "out_of_memory",
        FailureClass.TimedOut => "timed_out",
        FailureClass.SucceededWithoutOutputs => "succeeded_without_outputs",
        _ => failure.ToString().ToLowerInvariant(),
    };
}

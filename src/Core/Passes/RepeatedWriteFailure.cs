namespace Batchkeeper.Core.Passes;

/// <summary>
/// The cause of the last failed write of one file, so that a failure repeating every pass (a full disk, a read-only
/// folder) is logged once per cause, and its end once. Not thread-safe: each file's writes are serialized by its owner.
/// </summary>
public sealed class RepeatedWriteFailure
{
    private string? _cause;

    /// <summary>Records a failed write; true when its cause differs from the last one's, so it is worth logging.</summary>
    public bool IsNew(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);

        // The message names the temp file, new each time: the cause is the exception's kind and errno.
        var cause = $"{error.GetType().Name} {error.HResult}";
        if (cause == _cause)
        {
            return false;
        }

        _cause = cause;
        return true;
    }

    /// <summary>Records a write that worked; true when writes were failing until now, so the recovery is worth logging.</summary>
    public bool Recovered()
    {
        var wasFailing = _cause is not null;
        _cause = null;
        return wasFailing;
    }
}

namespace Batchkeeper.Daemon.Cli;

/// <summary>Exit codes of every command.</summary>
public static class ExitCodes
{
    /// <summary>Done, and what was checked is fine.</summary>
    public const int Ok = 0;

    /// <summary>Done, but what was checked is not fine (an invalid workflow, failed slots).</summary>
    public const int NotOk = 1;

    /// <summary>The command could not be done: bad arguments, unusable input or configuration.</summary>
    public const int Usage = 2;

    /// <summary>The daemon stopped because something broke (a service failed): systemd's Restart=on-failure restarts it.</summary>
    public const int Failure = 1;
}

using Batchkeeper.Daemon.Cli;

namespace Batchkeeper.Daemon;

/// <summary>The <c>batchkeeper</c> executable: the daemon (<c>run</c>, the default) and the commands around it.</summary>
public static class Program
{
    public static Task<int> Main(string[] args) => CliRoot.InvokeAsync(args);
}

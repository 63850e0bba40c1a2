using System.Diagnostics;

namespace Batchkeeper.Daemon.Tests.Infrastructure;

/// <summary>
/// A command in a real terminal: a detached tmux session of a given size on a tmux server of its own (<c>-L</c>),
/// read back as the screen shows it (<c>capture-pane</c>), so a test sees what a person at a terminal sees after the
/// cursor movements, not the bytes. .ci/run installs tmux where it is missing.
/// </summary>
public sealed class Terminal : IDisposable
{
    private readonly string _server = "bk-" + Guid.NewGuid().ToString("N")[..10];

    private Terminal()
    {
    }

    public static Terminal Start(string workingDirectory, int width, int height, params string[] command)
    {
        var terminal = new Terminal();
        terminal.Tmux(["new-session", "-d", "-s", "main", "-x", $"{width}", "-y", $"{height}", "-c", workingDirectory, .. command]);
        return terminal;
    }

    /// <summary>The screen's lines as they are now.</summary>
    public string[] Screen() => Tmux(["capture-pane", "-p", "-t", "main"]).Split('\n');

    public void Dispose()
    {
        try
        {
            Tmux(["kill-server"]);
        }
        catch (InvalidOperationException)
        {
            // The session ended with its command: the server is gone already.
        }
    }

    private string Tmux(string[] args)
    {
        var start = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-L");
        start.ArgumentList.Add(_server);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("tmux could not be started");
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"tmux {string.Join(' ', args)}: exit {process.ExitCode}: {error}");
    }
}

using System.Diagnostics;

namespace Batchkeeper.Daemon.Tests.Infrastructure;

/// <summary>One run of the real <c>batchkeeper</c> executable to its end: exit code, stdout and stderr.</summary>
public static class CliRun
{
    /// <param name="workingDirectory">Where it runs (where appsettings.json would be read).</param>
    /// <param name="environment">Variables to set; an empty value removes one.</param>
    /// <param name="stdin">A line typed at its prompt, or null for none; standard input is closed after it.</param>
    /// <param name="args">The command line.</param>
    public static async Task<(int Code, string Out, string Err)> RunAsync(
        string workingDirectory, IDictionary<string, string>? environment, string? stdin, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        start.ArgumentList.Add(DaemonProcess.Dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            if (value.Length == 0)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteLineAsync(stdin);
        }

        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    /// <summary>The lines of a command's output, without the empty last one.</summary>
    public static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();
}

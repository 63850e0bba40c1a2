using System.Diagnostics;

namespace Batchkeeper.Daemon.Tests.Security;

/// <summary>Makes the special files an attacker or a careless user can put in a projects folder.</summary>
internal static class FileKinds
{
    public static void Fifo(string path) => Run("mkfifo", path);

    /// <summary>A character device with /dev/zero's numbers (needs root, as the suite runs in CI).</summary>
    public static void ZeroDevice(string path) => Run("mknod", path, "c", "1", "5");

    private static void Run(string program, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardError = true })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({process.ExitCode}): {error} (the test needs root)");
        }
    }
}

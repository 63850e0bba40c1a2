using System.Diagnostics;

namespace Batchkeeper.Daemon.Tests.Infrastructure;

/// <summary>
/// Installs the test suite's node packages (tests/node: s3rver) with <c>npm ci</c> the first time they are
/// needed, so that a fresh machine needs nothing but node and npm. Serialised across test processes by a lock file.
/// </summary>
public static class NodeTools
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    public static string Folder => Path.Combine(RepoPaths.Root, "tests", "node");

    public static async Task EnsureInstalledAsync()
    {
        await Gate.WaitAsync();
        try
        {
            using var fileLock = await AcquireLockAsync(Path.Combine(Folder, ".install.lock"));
            var marker = Path.Combine(Folder, "node_modules", ".package-lock.json");
            if (File.Exists(marker) && File.GetLastWriteTimeUtc(marker) >= File.GetLastWriteTimeUtc(Path.Combine(Folder, "package-lock.json")))
            {
                return;
            }

            var start = new ProcessStartInfo("npm", "ci --no-audit --no-fund --loglevel=error")
            {
                WorkingDirectory = Folder,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var npm = Process.Start(start)!;
            var output = npm.StandardOutput.ReadToEndAsync();
            var error = npm.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            await npm.WaitForExitAsync(timeout.Token);
            if (npm.ExitCode != 0)
            {
                throw new InvalidOperationException($"npm ci in {Folder} failed ({npm.ExitCode}): {await output}{await error}");
            }
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task<FileStream> AcquireLockAsync(string path)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(6);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                // Another test process is installing: wait for it.
                await Task.Delay(200);
            }
        }
    }
}

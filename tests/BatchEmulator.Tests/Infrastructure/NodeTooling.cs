using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace Batchkeeper.BatchEmulator.Tests.Infrastructure;

/// <summary>
/// The node scripts under <c>js/</c> and their npm packages. <see cref="EnsureInstalledAsync"/>
/// runs <c>npm ci</c> when <c>node_modules</c> lacks them: once per test run, serialised within this
/// process and, through a lock file, with any other test run on the machine. An npm failure fails
/// the calling test with npm's output; nothing is skipped.
/// </summary>
internal static class NodeTooling
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static bool _installed;

    public static string JsDirectory { get; } =
        typeof(NodeTooling).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "JsDirectory").Value!;

    private static bool IsInstalled =>
        File.Exists(Path.Combine(JsDirectory, "node_modules", "@aws-sdk", "client-batch", "package.json")) &&
        File.Exists(Path.Combine(JsDirectory, "node_modules", "@aws-sdk", "client-cloudwatch-logs", "package.json")) &&
        File.Exists(Path.Combine(JsDirectory, "node_modules", "@aws-sdk", "client-sqs", "package.json")) &&
        File.Exists(Path.Combine(JsDirectory, "node_modules", "s3rver", "package.json"));

    public static async Task EnsureInstalledAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (_installed)
            {
                return;
            }

            if (!IsInstalled)
            {
                await using var machineLock = await AcquireMachineLockAsync(TimeSpan.FromMinutes(5));
                if (!IsInstalled)
                {
                    var result = await ProcessRunner.RunAsync(
                        "npm", ["ci", "--no-audit", "--no-fund"], JsDirectory, TimeSpan.FromMinutes(5));
                    Assert.True(result.ExitCode == 0 && IsInstalled, $"npm ci in {JsDirectory} failed:\n{result}");
                }
            }

            _installed = true;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>Runs <c>node script args…</c> in <c>js/</c>.</summary>
    public static async Task<ProcessResult> RunScriptAsync(string script, IEnumerable<string> arguments, TimeSpan timeout)
    {
        await EnsureInstalledAsync();
        return await ProcessRunner.RunAsync("node", [script, .. arguments], JsDirectory, timeout);
    }

    /// <summary>
    /// Runs a check script that prints its report as the last line of stdout, one JSON object: the report. A script
    /// that fails (its client could not get through a step) fails the test with all it printed.
    /// </summary>
    public static async Task<System.Text.Json.JsonElement> RunCheckAsync(string script, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var run = await RunScriptAsync(script, arguments, timeout);
        Assert.True(run.ExitCode == 0, $"{script} failed:\n{run}");
        using var report = System.Text.Json.JsonDocument.Parse(run.StandardOutput.Trim().Split('\n')[^1]);
        return report.RootElement.Clone();
    }

    private static async Task<FileStream> AcquireMachineLockAsync(TimeSpan timeout)
    {
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(JsDirectory)))[..16];
        var path = Path.Combine(Path.GetTempPath(), $"batchkeeper-npm-{hash}.lock");
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200); // another test run is installing; its npm ci has no event to wait on
            }
        }
    }
}

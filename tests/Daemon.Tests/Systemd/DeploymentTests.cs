using System.Diagnostics;
using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Systemd;

/// <summary>The unit file passes systemd's own checks, and the install script installs, re-installs and uninstalls.</summary>
public sealed class DeploymentTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static (int Code, string Output) Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(true);
            throw new TimeoutException($"{file} did not finish");
        }

        return (process.ExitCode, output.Result + error.Result);
    }

    private static string Deploy(string name) => Path.Combine(RepoPaths.Root, "deploy", "systemd", name);

    [Fact]
    public void UnitFile_PassesVerify_AndIsRatedAtMost1Point5ByTheSecurityAudit()
    {
        // The unit is the one RealSystemdTests runs the daemon under, so this score is that of a unit that works.
        var (code, output) = Run("bash", Deploy("check-unit.sh"), "1.5");
        Assert.True(code == 0, output);
        Assert.Contains("verify: ok", output, StringComparison.Ordinal);
        var score = double.Parse(output.Split("exposure ")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(score, 0, 1.5);
    }

    [Fact]
    public void UnitFile_IsANotifyServiceWithWatchdogRestartAndItsOwnUser()
    {
        var unit = File.ReadAllLines(Deploy("batchkeeper.service"));
        Assert.Contains("Type=notify", unit);
        Assert.Contains(unit, l => l.StartsWith("WatchdogSec=", StringComparison.Ordinal));
        Assert.Contains("Restart=on-failure", unit);
        Assert.Contains("User=batchkeeper", unit);
        Assert.Contains("Environment=Batchkeeper__ProjectsDirectory=/var/lib/batchkeeper/projects", unit);
        Assert.Contains("Environment=Batchkeeper__LogDirectory=/var/log/batchkeeper", unit);
        Assert.Contains("Environment=DOTNET_CONTENTROOT=/etc/batchkeeper", unit);
    }

    [Fact]
    public void InstallScript_InstallsIdempotently_KeepsConfiguration_AndUninstalls()
    {
        var root = _folder.Combine("root");
        var from = AppContext.BaseDirectory; // holds batchkeeper.dll and its dependencies, like a publish output
        var first = Run("bash", Deploy("install.sh"), "--destdir", root, "--from", from);
        Assert.True(first.Code == 0, first.Output);
        Assert.True(File.Exists(Path.Combine(root, "opt/batchkeeper/batchkeeper.dll")));
        Assert.True(File.Exists(Path.Combine(root, "etc/systemd/system/batchkeeper.service")));
        Assert.True(Directory.Exists(Path.Combine(root, "var/lib/batchkeeper/projects")));
        Assert.True(Directory.Exists(Path.Combine(root, "var/log/batchkeeper")));
        var config = Path.Combine(root, "etc/batchkeeper/appsettings.json");
        Assert.Contains("\"Backend\": \"Local\"", File.ReadAllText(config), StringComparison.Ordinal);

        // An administrator's edit survives a second install (an upgrade).
        File.WriteAllText(config, """{ "Batchkeeper": { "Backend": "Aws" } }""");
        var second = Run("bash", Deploy("install.sh"), "--destdir", root, "--from", from);
        Assert.True(second.Code == 0, second.Output);
        Assert.Contains("Aws", File.ReadAllText(config), StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(root, "opt/batchkeeper.new")));

        var uninstall = Run("bash", Deploy("install.sh"), "--destdir", root, "--uninstall");
        Assert.True(uninstall.Code == 0, uninstall.Output);
        Assert.False(Directory.Exists(Path.Combine(root, "opt/batchkeeper")));
        Assert.False(File.Exists(Path.Combine(root, "etc/systemd/system/batchkeeper.service")));
        Assert.True(File.Exists(config));

        var purge = Run("bash", Deploy("install.sh"), "--destdir", root, "--uninstall", "--purge");
        Assert.True(purge.Code == 0, purge.Output);
        Assert.False(Directory.Exists(Path.Combine(root, "etc/batchkeeper")));
        Assert.False(Directory.Exists(Path.Combine(root, "var/lib/batchkeeper")));

        var bad = Run("bash", Deploy("install.sh"), "--bogus");
        Assert.Equal(2, bad.Code);
    }
}

using System.Diagnostics;
using Microsoft.Playwright;

namespace Batchkeeper.Daemon.Tests.Web.Browser;

/// <summary>
/// A real headless Chromium, Debian's <c>chromium</c> package, driven by Playwright (which cannot download a browser of
/// its own here). Installed once when missing (<c>apt-get update &amp;&amp; apt-get install -y chromium</c> as root,
/// under <c>flock</c> so test processes of several worktrees do not run apt at once; .ci/run installs it first).
/// Where that cannot be done (not root, no apt, no mirror) or the browser does not start, <see cref="SkipReason"/> says
/// exactly why and the browser tests are skipped with it, as the real-systemd tests are.
/// </summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    public const string Executable = "/usr/bin/chromium";

    private const string InstallLock = "/tmp/batchkeeper-chromium-install.lock";

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    /// <summary>Why the browser tests cannot run here, or null when the browser is up.</summary>
    public string? SkipReason { get; private set; }

    public IBrowser Browser => _browser ?? throw new InvalidOperationException(SkipReason ?? "not started");

    public async Task InitializeAsync()
    {
        SkipReason = File.Exists(Executable) ? null : await InstallAsync();
        if (SkipReason is not null)
        {
            return;
        }

        try
        {
            _playwright = await Playwright.CreateAsync();
            _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Executable, Headless = true });
        }
        catch (PlaywrightException e)
        {
            SkipReason = $"Playwright could not start {Executable}: {e.Message}";
        }
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }

        _playwright?.Dispose();
    }

    /// <summary>A fresh page (its own context: no cookies, storage or cache shared with another test) that records what went wrong in it.</summary>
    public async Task<WatchedPage> NewPageAsync(Uri address)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = address.ToString(), ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        return await WatchedPage.OpenAsync(context);
    }

    private static async Task<string?> InstallAsync()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "the browser tests need Linux (Debian's chromium package)";
        }

        if (Environment.UserName != "root")
        {
            return $"{Executable} is missing and installing it needs root (apt-get install chromium; .ci/run does it); running as {Environment.UserName}";
        }

        if (!File.Exists("/usr/bin/apt-get") || !File.Exists("/usr/bin/flock"))
        {
            return $"{Executable} is missing and this machine has no apt-get or flock to install it with";
        }

        var start = new ProcessStartInfo("/usr/bin/flock") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])["-w", "900", InstallLock, "/bin/sh", "-c",
                     $"[ -x {Executable} ] || {{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }}"])
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return "apt-get install chromium did not finish within 15 minutes";
        }

        if (process.ExitCode != 0 || !File.Exists(Executable))
        {
            var tail = string.Join("\n", (await output + await error).Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(6));
            return $"apt-get install chromium failed (exit code {process.ExitCode}):\n{tail}";
        }

        return null;
    }
}

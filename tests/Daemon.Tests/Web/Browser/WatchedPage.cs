using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace Batchkeeper.Daemon.Tests.Web.Browser;

/// <summary>
/// A browser page that records everything that should never happen on the status page: a console error or warning
/// (a CSP violation is reported there), an uncaught exception, a dialog (an injected <c>alert</c>), a
/// <c>securitypolicyviolation</c> event, and a full load after the first (the page must update without reloading).
/// </summary>
public sealed class WatchedPage : IAsyncDisposable
{
    /// <summary>Runs before any script of the page (through the browser's debugging protocol, so the CSP does not apply to it).</summary>
    private const string RecordViolations = """
        window.__violations = [];
        document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
        """;

    private readonly IBrowserContext _context;
    private readonly ConcurrentQueue<string> _problems = new();
    private int _loads;

    private WatchedPage(IBrowserContext context, IPage page)
    {
        _context = context;
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning")
            {
                _problems.Enqueue($"console {message.Type}: {message.Text}");
            }
        };
        page.PageError += (_, error) => _problems.Enqueue($"page error: {error}");
        page.Dialog += async (_, dialog) =>
        {
            _problems.Enqueue($"dialog {dialog.Type}: {dialog.Message}");
            await dialog.DismissAsync();
        };
        page.Load += (_, _) => Interlocked.Increment(ref _loads);
    }

    public IPage Page { get; }

    /// <summary>Full page loads so far (a hash change is none).</summary>
    public int Loads => Volatile.Read(ref _loads);

    internal static async Task<WatchedPage> OpenAsync(IBrowserContext context)
    {
        await context.AddInitScriptAsync(RecordViolations);
        return new WatchedPage(context, await context.NewPageAsync());
    }

    /// <summary>Fails with every problem recorded so far, CSP violations included.</summary>
    public async Task AssertNoProblemsAsync()
    {
        var violations = await Page.EvaluateAsync<string[]>("window.__violations");
        Assert.Empty(violations);
        Assert.Empty(_problems);
    }

    public async ValueTask DisposeAsync() => await _context.CloseAsync();
}

using System.Net;

namespace Batchkeeper.Daemon.Web;

/// <summary>
/// <c>Batchkeeper:Web</c>: the read-only status page, its JSON API, <c>/metrics</c> and <c>/healthz</c>. On by default on
/// loopback. Any other address is refused unless <see cref="AllowRemote"/> is set and a <see cref="Token"/> is given,
/// which every request but <c>/healthz</c> must then carry as <c>Authorization: Bearer …</c>. The token is a secret:
/// no line, page or error quotes it.
/// </summary>
public sealed class WebOptions
{
    public const string DefaultUrl = "http://127.0.0.1:8421";

    /// <summary>Whether the daemon serves the page at all. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Where it listens: <c>http://host:port</c>, port 0 for one chosen at start. Default <see cref="DefaultUrl"/>.</summary>
    public string Url { get; set; } = DefaultUrl;

    /// <summary>Allows an address other than loopback (with <see cref="Token"/>). Default false.</summary>
    public bool AllowRemote { get; set; }

    /// <summary>The bearer token every request must carry; required with <see cref="AllowRemote"/>. Default none.</summary>
    public string? Token { get; set; }

    /// <summary>The shortest token accepted: a guessable token on a remote address is no protection.</summary>
    internal const int MinimumTokenLength = 16;

    /// <summary>The address to listen on, once <see cref="AddProblems"/> found none.</summary>
    internal IPEndPoint EndPoint => Parse(Url) ?? throw new InvalidOperationException("Batchkeeper:Web:Url was not validated");

    /// <summary>True when <see cref="Url"/> names a loopback address (127.0.0.0/8, ::1 or localhost).</summary>
    internal bool IsLoopback => Parse(Url) is { } endPoint && IPAddress.IsLoopback(endPoint.Address);

    internal static void AddProblems(List<string> problems, WebOptions options)
    {
        if (!options.Enabled)
        {
            return;
        }

        if (Parse(options.Url) is null)
        {
            // An address with a user name or password is not quoted: whatever follows "//" up to "@" may be a secret.
            var shown = options.Url.Contains('@', StringComparison.Ordinal) ? "(an address with a user name or password, not shown)" : Core.Workflows.Quoted.Name(options.Url);
            problems.Add($"Batchkeeper:Web:Url: '{shown}' is not allowed: expected http://ADDRESS:PORT such as {DefaultUrl} (an IP address or localhost, port 0 to 65535, no path)");
            return;
        }

        if (options.IsLoopback)
        {
            return;
        }

        if (!options.AllowRemote)
        {
            problems.Add($"Batchkeeper:Web:Url: {options.Url} is not a loopback address: the status page is served beyond this machine only with Batchkeeper:Web:AllowRemote=true and a Batchkeeper:Web:Token");
        }
        else if (string.IsNullOrWhiteSpace(options.Token) || options.Token.Trim().Length < MinimumTokenLength)
        {
            // Never the token itself: only whether it is there and how long it must be.
            problems.Add($"Batchkeeper:Web:Token: required when Batchkeeper:Web:AllowRemote is true and the address is not loopback: expected a secret of at least {MinimumTokenLength} characters");
        }
    }

    /// <summary>
    /// <c>http://ADDRESS:PORT</c> as an end point: an IP address (IPv6 in brackets), <c>localhost</c> (loopback) or
    /// <c>*</c>/<c>0.0.0.0</c> (every address). Null for anything else: https (put a proxy in front for TLS), a path, a
    /// host name other than localhost (Kestrel would bind whatever it resolves to at start).
    /// </summary>
    internal static IPEndPoint? Parse(string? url)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            return null;
        }

        var text = url.Trim().Replace("://*:", "://0.0.0.0:", StringComparison.Ordinal).Replace("://+:", "://0.0.0.0:", StringComparison.Ordinal);
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp
            || uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0
            || !HasPort(text))
        {
            return null;
        }

        if (string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return new IPEndPoint(IPAddress.Loopback, uri.Port);
        }

        return IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) ? new IPEndPoint(address, uri.Port) : null;
    }

    /// <summary>Whether the port is written out: <c>http://127.0.0.1</c> alone would mean port 80, which nobody means here.</summary>
    private static bool HasPort(string url)
    {
        var authority = url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..].TrimEnd('/');
        var colon = authority.LastIndexOf(':');
        return colon > authority.LastIndexOf(']') && colon < authority.Length - 1;
    }
}

using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Batchkeeper.Daemon.Web;

/// <summary>
/// What every answer of the status server goes through, before routing: security headers on every answer (a
/// Content-Security-Policy that allows only the page's own scripts, styles and API), read-only methods, the bearer token
/// when one is configured, and on a loopback address a <c>Host</c> check against DNS rebinding (a web site whose name
/// is made to resolve to 127.0.0.1 cannot read the page from a person's browser).
/// </summary>
internal static class WebSecurity
{
    /// <summary>Only the page's own assets and API: no inline script, no eval, no frames, no forms, nothing from elsewhere.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>Answered without the token: a load balancer's or supervisor's probe rarely carries one, and it tells nothing but alive or not.</summary>
    public const string HealthPath = "/healthz";

    public static Func<HttpContext, RequestDelegate, Task> Middleware(WebOptions web)
    {
        var token = string.IsNullOrWhiteSpace(web.Token) ? null : Encoding.UTF8.GetBytes("Bearer " + web.Token.Trim());
        var checkHost = web.IsLoopback;
        return (context, next) =>
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            headers.CacheControl = "no-store";

            var request = context.Request;
            if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
            {
                headers.Allow = "GET, HEAD";
                return Plain(context, StatusCodes.Status405MethodNotAllowed, "read-only: only GET and HEAD are served");
            }

            if (checkHost && !IsLoopbackHost(request.Host))
            {
                return Plain(context, StatusCodes.Status421MisdirectedRequest, "this page is served to 127.0.0.1, localhost and ::1 only");
            }

            if (token is not null && request.Path != HealthPath && !Authorized(request, token))
            {
                headers.WWWAuthenticate = "Bearer realm=\"batchkeeper\"";
                return Plain(context, StatusCodes.Status401Unauthorized, "a bearer token is required (Authorization: Bearer …)");
            }

            return next(context);
        };
    }

    /// <summary>Compared in constant time: the answer's timing says nothing of how much of a guess was right.</summary>
    private static bool Authorized(HttpRequest request, byte[] expected)
    {
        var given = Encoding.UTF8.GetBytes(request.Headers.Authorization.ToString());
        return CryptographicOperations.FixedTimeEquals(given, expected);
    }

    private static bool IsLoopbackHost(HostString host)
    {
        if (!host.HasValue)
        {
            return false;
        }

        var name = host.Host.Trim('[', ']');
        return string.Equals(name, "localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(name, out var address) && IPAddress.IsLoopback(address));
    }

    private static Task Plain(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(message + "\n");
    }
}

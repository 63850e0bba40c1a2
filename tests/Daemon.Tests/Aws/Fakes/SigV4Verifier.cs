using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Batchkeeper.Daemon.Tests.Aws.Fakes;

/// <summary>The parts of an <c>Authorization: AWS4-HMAC-SHA256 …</c> header.</summary>
internal sealed record SigV4Authorization(
    string AccessKey, string Date, string Region, string Service, IReadOnlyList<string> SignedHeaders, string Signature);

/// <summary>
/// Checks a received request's SigV4 signature the way AWS does, written from the SigV4 specification and
/// independent of the SDK (it is checked against AWS's published test vectors). Handles what the Batch
/// client sends: a path without characters that need encoding, no query string.
/// </summary>
internal static partial class SigV4Verifier
{
    public static SigV4Authorization? ParseAuthorization(string? header)
    {
        var match = header is null ? null : AuthorizationPattern().Match(header);
        if (match is null || !match.Success)
        {
            return null;
        }

        return new SigV4Authorization(
            match.Groups["key"].Value, match.Groups["date"].Value, match.Groups["region"].Value, match.Groups["service"].Value,
            match.Groups["headers"].Value.Split(';'), match.Groups["signature"].Value);
    }

    /// <summary>Null when the signature is right for <paramref name="secretKey"/>, else what is wrong.</summary>
    public static string? Verify(CapturedRequest request, string secretKey)
    {
        var authorization = ParseAuthorization(request.Header("Authorization"));
        if (authorization is null)
        {
            return $"no parsable AWS4-HMAC-SHA256 Authorization header (got '{request.Header("Authorization")}')";
        }

        var amzDate = request.Header("x-amz-date");
        if (amzDate is null || !amzDate.StartsWith(authorization.Date, StringComparison.Ordinal))
        {
            return $"x-amz-date '{amzDate}' does not match the credential scope date {authorization.Date}";
        }

        var payloadHash = Hex(SHA256.HashData(request.Body));
        var declaredHash = request.Header("x-amz-content-sha256");
        if (declaredHash is not null && declaredHash != payloadHash)
        {
            return $"x-amz-content-sha256 {declaredHash} is not the body's hash {payloadHash}";
        }

        var headers = new List<(string Name, string Value)>();
        foreach (var name in authorization.SignedHeaders)
        {
            var value = request.Header(name);
            if (value is null)
            {
                return $"signed header '{name}' was not sent";
            }

            headers.Add((name, value));
        }

        var expected = Signature(
            secretKey, request.Method, request.Path, query: "", headers, payloadHash, amzDate,
            authorization.Region, authorization.Service);
        return expected == authorization.Signature ? null : $"signature {authorization.Signature} != expected {expected}";
    }

    public static string Signature(
        string secretKey, string method, string path, string query, IEnumerable<(string Name, string Value)> headers,
        string payloadHash, string amzDate, string region, string service)
    {
        var sorted = headers.Select(h => (Name: h.Name.ToLowerInvariant(), Value: Spaces().Replace(h.Value.Trim(), " ")))
            .OrderBy(h => h.Name, StringComparer.Ordinal).ToList();
        var canonicalRequest = string.Join('\n',
            method,
            path,
            query,
            string.Concat(sorted.Select(h => $"{h.Name}:{h.Value}\n")),
            string.Join(';', sorted.Select(h => h.Name)),
            payloadHash);
        var date = amzDate[..8];
        var scope = $"{date}/{region}/{service}/aws4_request";
        var stringToSign = $"AWS4-HMAC-SHA256\n{amzDate}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)))}";
        var key = Hmac(Encoding.UTF8.GetBytes("AWS4" + secretKey), date);
        key = Hmac(key, region);
        key = Hmac(key, service);
        key = Hmac(key, "aws4_request");
        return Hex(Hmac(key, stringToSign));
    }

    public static string Hex(byte[] bytes) => Convert.ToHexString(bytes).ToLower(CultureInfo.InvariantCulture);

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    [GeneratedRegex(@"^AWS4-HMAC-SHA256 Credential=(?<key>[^/]+)/(?<date>\d{8})/(?<region>[^/]+)/(?<service>[^/]+)/aws4_request, ?SignedHeaders=(?<headers>[a-z0-9;-]+), ?Signature=(?<signature>[0-9a-f]{64})$")]
    private static partial Regex AuthorizationPattern();

    [GeneratedRegex(" +")]
    private static partial Regex Spaces();
}

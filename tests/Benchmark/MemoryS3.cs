using System.Collections.Concurrent;
using System.Globalization;
using System.Security;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Batchkeeper.Benchmark;

/// <summary>
/// An in-memory S3 endpoint on 127.0.0.1 (path style) for the sizes s3rver cannot hold: s3rver keeps every object
/// as files on disk and walks them on every listing, so hundreds of thousands of objects make each ListObjectsV2
/// page take seconds. It serves what the daemon and the Batch emulator use: PutObject, HeadObject, GetObject,
/// CreateBucket and ListObjectsV2 (prefix, start-after, continuation-token, max-keys up to 1,000, keys in
/// ordinal order, <c>encoding-type=url</c>), answers with S3's XML, adds a fixed latency to every request and
/// counts requests by operation with their arrival time. Signatures are accepted unverified.
/// </summary>
public sealed class MemoryS3 : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, SortedSet<string>> _buckets = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(DateTimeOffset At, string Operation)> _requests = new();
    private readonly TimeSpan _latency;
    private readonly ConcurrentDictionary<string, byte> _connections = new(StringComparer.Ordinal);

    private MemoryS3(WebApplication app, TimeSpan latency)
    {
        _app = app;
        _latency = latency;
    }

    /// <summary><c>http://127.0.0.1:PORT</c>.</summary>
    public string ServiceUrl { get; private set; } = "";

    public static async Task<MemoryS3> StartAsync(TimeSpan latency)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var s3 = new MemoryS3(app, latency);
        app.Run(s3.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        s3.ServiceUrl = address.TrimEnd('/');
        return s3;
    }

    /// <summary>Stores an object directly (no request, not counted): seeding.</summary>
    public void Put(string bucket, string key)
    {
        var keys = _buckets.GetOrAdd(bucket, _ => new SortedSet<string>(StringComparer.Ordinal));
        lock (keys)
        {
            keys.Add(key);
        }
    }

    /// <summary>TCP connections the daemon has opened to this S3 so far: a client that pools them opens a few.</summary>
    public int Connections => _connections.Count;

    /// <summary>Objects stored in all buckets.</summary>
    public long ObjectCount => _buckets.Values.Sum(k => { lock (k) { return (long)k.Count; } });

    /// <summary>
    /// The fewest ListObjectsV2 pages (1,000 keys each) that tell whether each of <paramref name="wanted"/> exists: a
    /// page started just before the first key not yet known about covers every key up to the last one it returns, so
    /// starting each page at the first uncovered key is optimal. Where fewer HeadObject requests would do, that count.
    /// </summary>
    public int MinimumRequests(string bucket, IReadOnlyCollection<string> wanted)
    {
        if (wanted.Count == 0)
        {
            return 0;
        }

        string[] keys;
        var set = _buckets.GetOrAdd(bucket, _ => new SortedSet<string>(StringComparer.Ordinal));
        lock (set)
        {
            keys = [.. set];
        }

        var pages = 0;
        string? coveredTo = null; // every key up to and including this one is known; null: nothing yet
        var everything = false;
        foreach (var key in wanted.Order(StringComparer.Ordinal))
        {
            if (everything || (coveredTo is not null && string.CompareOrdinal(key, coveredTo) <= 0))
            {
                continue;
            }

            pages++;
            var i = Array.BinarySearch(keys, key, StringComparer.Ordinal);
            i = i < 0 ? ~i : i;
            if (i + 1000 >= keys.Length)
            {
                everything = true;
            }
            else
            {
                coveredTo = keys[i + 999];
            }
        }

        return Math.Min(pages, wanted.Count);
    }

    /// <summary>Requests per operation that arrived in [<paramref name="from"/>, <paramref name="to"/>].</summary>
    public Dictionary<string, int> Count(DateTimeOffset from, DateTimeOffset to) =>
        _requests.Where(r => r.At >= from && r.At <= to)
            .GroupBy(r => r.Operation, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    private async Task HandleAsync(HttpContext context)
    {
        _connections.TryAdd(context.Connection.Id, 0);
        var request = context.Request;
        var path = Uri.UnescapeDataString(request.Path.Value ?? "/").TrimStart('/');
        var slash = path.IndexOf('/', StringComparison.Ordinal);
        var bucket = slash < 0 ? path : path[..slash];
        var key = slash < 0 ? "" : path[(slash + 1)..];
        var operation = (request.Method, key.Length > 0) switch
        {
            ("PUT", true) => "PutObject",
            ("PUT", false) => "CreateBucket",
            ("HEAD", true) => "HeadObject",
            ("GET", true) => "GetObject",
            ("GET", false) when request.Query["list-type"] == "2" => "ListObjectsV2",
            _ => $"{request.Method} unsupported",
        };
        _requests.Enqueue((DateTimeOffset.UtcNow, operation));
        if (_latency > TimeSpan.Zero)
        {
            await Task.Delay(_latency, context.RequestAborted);
        }

        var keys = _buckets.GetOrAdd(bucket, _ => new SortedSet<string>(StringComparer.Ordinal));
        switch (operation)
        {
            case "PutObject":
                // Read the body so that the client sees its request completed.
                await request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
                lock (keys)
                {
                    keys.Add(key);
                }

                context.Response.Headers.ETag = "\"d41d8cd98f00b204e9800998ecf8427e\"";
                return;
            case "CreateBucket":
                return;
            case "HeadObject":
            case "GetObject":
                bool exists;
                lock (keys)
                {
                    exists = keys.Contains(key);
                }

                if (!exists)
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    if (operation == "GetObject")
                    {
                        await WriteXmlAsync(context, "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>");
                    }

                    return;
                }

                context.Response.Headers.ETag = "\"d41d8cd98f00b204e9800998ecf8427e\"";
                context.Response.Headers.LastModified = DateTimeOffset.UtcNow.ToString("R", CultureInfo.InvariantCulture);
                context.Response.ContentLength = 0;
                return;
            case "ListObjectsV2":
                await ListAsync(context, bucket, keys);
                return;
            default:
                context.Response.StatusCode = StatusCodes.Status501NotImplemented;
                await WriteXmlAsync(context, $"<Error><Code>NotImplemented</Code><Message>{SecurityElement.Escape(operation)}</Message></Error>");
                return;
        }
    }

    private static async Task ListAsync(HttpContext context, string bucket, SortedSet<string> keys)
    {
        var query = context.Request.Query;
        var prefix = query["prefix"].ToString();
        var startAfter = query["start-after"].ToString();
        var token = query["continuation-token"].ToString();
        var urlEncoded = query["encoding-type"] == "url";
        var maxKeys = int.TryParse(query["max-keys"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var m) ? Math.Clamp(m, 0, 1000) : 1000;

        // Listing starts after the continuation token's key, else after start-after, else at the prefix.
        var after = token.Length > 0 ? Encoding.UTF8.GetString(Convert.FromBase64String(token)) : startAfter;
        var page = new List<string>(Math.Min(maxKeys, 1000));
        var truncated = false;
        lock (keys)
        {
            var from = string.CompareOrdinal(after, prefix) > 0 ? after : prefix;
            if (keys.Count > 0 && string.CompareOrdinal(from, keys.Max) <= 0)
            {
                foreach (var key in keys.GetViewBetween(from, keys.Max!))
                {
                    if (key == after)
                    {
                        continue;
                    }

                    if (!key.StartsWith(prefix, StringComparison.Ordinal))
                    {
                        break;
                    }

                    if (page.Count == maxKeys)
                    {
                        truncated = true;
                        break;
                    }

                    page.Add(key);
                }
            }
        }

        string Encode(string value) => SecurityElement.Escape(urlEncoded ? Uri.EscapeDataString(value).Replace("%2F", "/", StringComparison.Ordinal) : value);
        var xml = new StringBuilder(256 + (page.Count * 200));
        xml.Append("<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
        xml.Append(CultureInfo.InvariantCulture, $"<Name>{SecurityElement.Escape(bucket)}</Name><Prefix>{Encode(prefix)}</Prefix>");
        if (startAfter.Length > 0)
        {
            xml.Append(CultureInfo.InvariantCulture, $"<StartAfter>{Encode(startAfter)}</StartAfter>");
        }

        if (token.Length > 0)
        {
            xml.Append(CultureInfo.InvariantCulture, $"<ContinuationToken>{SecurityElement.Escape(token)}</ContinuationToken>");
        }

        xml.Append(CultureInfo.InvariantCulture, $"<KeyCount>{page.Count}</KeyCount><MaxKeys>{maxKeys}</MaxKeys><IsTruncated>{(truncated ? "true" : "false")}</IsTruncated>");
        if (truncated)
        {
            xml.Append(CultureInfo.InvariantCulture, $"<NextContinuationToken>{Convert.ToBase64String(Encoding.UTF8.GetBytes(page[^1]))}</NextContinuationToken>");
        }

        if (urlEncoded)
        {
            xml.Append("<EncodingType>url</EncodingType>");
        }

        foreach (var key in page)
        {
            xml.Append(CultureInfo.InvariantCulture,
                $"<Contents><Key>{Encode(key)}</Key><LastModified>2026-12-01T00:00:00.000Z</LastModified><ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>0</Size><StorageClass>STANDARD</StorageClass></Contents>");
        }

        xml.Append("</ListBucketResult>");
        await WriteXmlAsync(context, xml.ToString());
    }

    private static Task WriteXmlAsync(HttpContext context, string body)
    {
        context.Response.ContentType = "application/xml";
        return context.Response.WriteAsync("<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + body);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

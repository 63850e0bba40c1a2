using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Batchkeeper.Daemon.Tests.Aws.Fakes;

/// <summary>One request as it arrived on the wire.</summary>
internal sealed record CapturedRequest(
    string Method,
    string Target,
    IReadOnlyList<KeyValuePair<string, string>> HeaderLines,
    byte[] Body,
    DateTimeOffset ReceivedAt)
{
    public string Path => Target.Split('?', 2)[0];

    public string BodyText => Encoding.UTF8.GetString(Body);

    /// <summary>The value of a header (name case-insensitive), null when absent; repeated lines joined with ",".</summary>
    public string? Header(string name)
    {
        var values = HeaderLines.Where(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).ToList();
        return values.Count == 0 ? null : string.Join(",", values);
    }

    public int HeaderCount(string name) => HeaderLines.Count(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase));
}

/// <summary>What the server does with a request.</summary>
internal abstract record ServerReply
{
    /// <summary>Answers nothing and keeps the connection open until the server stops.</summary>
    public static readonly ServerReply Stall = new StallReply();

    /// <summary>Closes the connection (with a reset) without answering.</summary>
    public static readonly ServerReply Drop = new DropReply();

    /// <summary>Sends the status line, headers and half the body, then nothing more until the server stops.</summary>
    public static readonly ServerReply StallMidBody = new StallMidBodyReply();

    public static ServerReply Json(int status, string body, params (string Name, string Value)[] headers) =>
        new Respond(status, body, headers);

    public static ServerReply Ok(string body = "{}") => Json(200, body, ("x-amzn-RequestId", "req-ok"));

    /// <summary>An AWS rest-json error: code in x-amzn-ErrorType, message in the body.</summary>
    public static ServerReply AwsError(int status, string code, string message, string requestId = "req-err") =>
        Json(status, $$"""{"message":"{{message}}"}""",
            ("x-amzn-ErrorType", code + ":http://internal.amazon.com/coral/com.amazonaws.batch.v20160810/"),
            ("x-amzn-RequestId", requestId));

    internal sealed record Respond(int Status, string Body, (string Name, string Value)[] Headers) : ServerReply;

    private sealed record StallReply : ServerReply;

    private sealed record DropReply : ServerReply;

    private sealed record StallMidBodyReply : ServerReply;
}

/// <summary>
/// A small HTTP/1.1 server on 127.0.0.1 (port 0) that records every request and answers as the test says:
/// a response, a stall or a dropped connection. Enough HTTP for HttpClient (Content-Length bodies, keep-alive).
/// </summary>
internal sealed class LoopbackHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<CapturedRequest, int, ServerReply> _reply;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<CapturedRequest> _requests = new();
    private readonly ConcurrentBag<Task> _connections = [];
    private readonly Task _acceptLoop;
    private int _count;

    /// <param name="reply">Given each request and its 1-based number, says what to do.</param>
    public LoopbackHttpServer(Func<CapturedRequest, int, ServerReply> reply)
    {
        _reply = reply;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        BaseUri = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>Answers every request with the replies in order, the last one repeated.</summary>
    public static LoopbackHttpServer Scripted(params ServerReply[] replies) =>
        new((_, n) => replies[Math.Min(n, replies.Length) - 1]);

    public Uri BaseUri { get; }

    public IReadOnlyList<CapturedRequest> Requests => [.. _requests];

    public int RequestCount => Volatile.Read(ref _count);

    /// <summary>TCP connections accepted so far: a client that pools them opens one for requests made one after another.</summary>
    public int ConnectionCount => _connections.Count;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _acceptLoop;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        await Task.WhenAll(_connections).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _connections.Add(Task.Run(() => ServeAsync(client)));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        var buffer = new List<byte>();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var request = await ReadRequestAsync(stream, buffer);
                if (request is null)
                {
                    return;
                }

                _requests.Enqueue(request);
                var number = Interlocked.Increment(ref _count);
                switch (_reply(request, number))
                {
                    case ServerReply.Respond respond:
                        await WriteResponseAsync(stream, respond);
                        break;
                    case var reply when ReferenceEquals(reply, ServerReply.StallMidBody):
                        await WriteAsync(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"jobs\":[");
                        await Task.Delay(Timeout.Infinite, _stop.Token);
                        return;
                    case var reply when ReferenceEquals(reply, ServerReply.Drop):
                        client.Client.LingerState = new LingerOption(true, 0);
                        return;
                    default:
                        await Task.Delay(Timeout.Infinite, _stop.Token);
                        return;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or the server is stopping.
        }
    }

    private async Task<CapturedRequest?> ReadRequestAsync(NetworkStream stream, List<byte> buffer)
    {
        var chunk = new byte[8192];
        int headEnd;
        while ((headEnd = IndexOfHeadEnd(buffer)) < 0)
        {
            var read = await stream.ReadAsync(chunk, _stop.Token);
            if (read == 0)
            {
                return null;
            }

            buffer.AddRange(chunk.AsSpan(0, read));
        }

        var head = Encoding.ASCII.GetString([.. buffer.GetRange(0, headEnd)]);
        buffer.RemoveRange(0, headEnd + 4);
        var lines = head.Split("\r\n");
        var requestLine = lines[0].Split(' ');
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers.Add(new(line[..colon].Trim(), line[(colon + 1)..].Trim()));
        }

        var length = headers.Where(h => h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            .Select(h => int.Parse(h.Value, System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
        while (buffer.Count < length)
        {
            var read = await stream.ReadAsync(chunk, _stop.Token);
            if (read == 0)
            {
                return null;
            }

            buffer.AddRange(chunk.AsSpan(0, read));
        }

        var body = buffer.GetRange(0, length).ToArray();
        buffer.RemoveRange(0, length);
        return new CapturedRequest(requestLine[0], requestLine[1], headers, body, DateTimeOffset.UtcNow);
    }

    private static int IndexOfHeadEnd(List<byte> buffer)
    {
        for (var i = 0; i + 3 < buffer.Count; i++)
        {
            if (buffer[i] == '\r' && buffer[i + 1] == '\n' && buffer[i + 2] == '\r' && buffer[i + 3] == '\n')
            {
                return i;
            }
        }

        return -1;
    }

    private async Task WriteResponseAsync(NetworkStream stream, ServerReply.Respond respond)
    {
        var body = Encoding.UTF8.GetBytes(respond.Body);
        var head = new StringBuilder()
            .Append(System.Globalization.CultureInfo.InvariantCulture, $"HTTP/1.1 {respond.Status} {(respond.Status < 400 ? "OK" : "Error")}\r\n")
            .Append("Content-Type: application/json\r\n")
            .Append(System.Globalization.CultureInfo.InvariantCulture, $"Content-Length: {body.Length}\r\n");
        foreach (var (name, value) in respond.Headers)
        {
            head.Append(System.Globalization.CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        }

        head.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), _stop.Token);
        await stream.WriteAsync(body, _stop.Token);
        await stream.FlushAsync(_stop.Token);
    }

    private async Task WriteAsync(NetworkStream stream, string text)
    {
        await stream.WriteAsync(Encoding.UTF8.GetBytes(text), _stop.Token);
        await stream.FlushAsync(_stop.Token);
    }
}

using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;

namespace Batchkeeper.Daemon.Tests.Infrastructure;

/// <summary>Plays systemd's side of sd_notify: a datagram socket that records every message the daemon sends.</summary>
public sealed class NotifyListener : IDisposable
{
    private readonly Socket _socket;
    private readonly ConcurrentQueue<(DateTime At, string Message)> _messages = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly string? _file;

    /// <param name="abstractName">Listen in Linux's abstract namespace (NOTIFY_SOCKET=@name) instead of on a file.</param>
    public NotifyListener(string folder, bool abstractName = false)
    {
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        if (abstractName)
        {
            var name = "batchkeeper-test-" + Guid.NewGuid().ToString("N");
            _socket.Bind(new UnixDomainSocketEndPoint("\0" + name));
            SocketPath = "@" + name;
        }
        else
        {
            _file = Path.Combine(folder, "notify.sock");
            _socket.Bind(new UnixDomainSocketEndPoint(_file));
            SocketPath = _file;
        }

        _ = ReceiveAsync();
    }

    /// <summary>The value for NOTIFY_SOCKET.</summary>
    public string SocketPath { get; }

    /// <summary>Every message, each possibly several KEY=VALUE lines.</summary>
    public IReadOnlyList<string> Messages => _messages.Select(m => m.Message).ToArray();

    public int Count(string state) => _messages.Count(m => m.Message.Split('\n').Contains(state));

    public Task WaitForAsync(Func<IReadOnlyList<string>, bool> condition, string what, TimeSpan? timeout = null) =>
        Eventually.WaitAsync(() => condition(Messages), what + $" (received: {string.Join(" | ", Messages.TakeLast(5))})", timeout);

    private async Task ReceiveAsync()
    {
        var buffer = new byte[4096];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var read = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                _messages.Enqueue((DateTime.UtcNow, Encoding.UTF8.GetString(buffer, 0, read)));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopped.
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        _stop.Dispose();
        if (_file is not null)
        {
            File.Delete(_file);
        }
    }
}

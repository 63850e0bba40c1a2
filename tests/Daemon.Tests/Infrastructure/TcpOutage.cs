using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Batchkeeper.Daemon.Tests.Infrastructure;

/// <summary>
/// A TCP relay on 127.0.0.1 in front of a service, so that the service can "go away" (connections refused, open
/// ones cut) and come back on the same port while its state (Batch jobs, S3 objects) survives, as a real outage does.
/// </summary>
public sealed class TcpOutage : IAsyncDisposable
{
    private readonly int _target;
    private readonly ConcurrentDictionary<TcpClient, byte> _open = new();
    private TcpListener? _listener;
    private CancellationTokenSource _stop = new();
    private Task _accepting = Task.CompletedTask;

    public TcpOutage(Uri target)
    {
        _target = target.Port;
        Port = Listen(0);
    }

    public int Port { get; private set; }

    public Uri Address => new($"http://127.0.0.1:{Port}/");

    public bool IsDown => _listener is null;

    /// <summary>Refuses new connections and cuts the open ones.</summary>
    public async Task DownAsync()
    {
        await _stop.CancelAsync();
        _listener?.Stop();
        _listener = null;
        foreach (var client in _open.Keys)
        {
            client.Dispose();
        }

        _open.Clear();
        await _accepting.ContinueWith(_ => { }, TaskScheduler.Default);
    }

    /// <summary>Listens again on the same port.</summary>
    public void Up() => Listen(Port);

    private int Listen(int port)
    {
        _stop = new CancellationTokenSource();
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        _listener = listener;
        var token = _stop.Token;
        _accepting = Task.Run(() => AcceptAsync(listener, token));
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task AcceptAsync(TcpListener listener, CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            TcpClient inbound;
            try
            {
                inbound = await listener.AcceptTcpClientAsync(token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => RelayAsync(inbound, token), CancellationToken.None);
        }
    }

    private async Task RelayAsync(TcpClient inbound, CancellationToken token)
    {
        var outbound = new TcpClient();
        _open[inbound] = 0;
        _open[outbound] = 0;
        try
        {
            await outbound.ConnectAsync(IPAddress.Loopback, _target, token);
            var a = inbound.GetStream();
            var b = outbound.GetStream();
            await Task.WhenAny(a.CopyToAsync(b, token), b.CopyToAsync(a, token));
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // The outage cut it, or a side closed.
        }
        finally
        {
            _open.TryRemove(inbound, out _);
            _open.TryRemove(outbound, out _);
            inbound.Dispose();
            outbound.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await DownAsync();
        _stop.Dispose();
    }
}

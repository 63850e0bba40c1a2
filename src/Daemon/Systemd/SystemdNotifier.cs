using System.Net.Sockets;
using System.Text;

namespace Batchkeeper.Daemon.Systemd;

/// <summary>
/// The sd_notify protocol: one datagram of <c>KEY=VALUE</c> lines to the socket named in <c>NOTIFY_SOCKET</c>
/// (a path, or <c>@name</c> for the abstract namespace). Without <c>NOTIFY_SOCKET</c> (not under systemd, or not
/// Type=notify) it does nothing at all. Microsoft.Extensions.Hosting.Systemd is not available here, so this is
/// the project's own small version of it.
/// </summary>
public sealed class SystemdNotifier : IDisposable
{
    private readonly Socket? _socket;
    private readonly UnixDomainSocketEndPoint? _endPoint;
    private readonly object _gate = new();

    public SystemdNotifier()
        : this(Environment.GetEnvironmentVariable("NOTIFY_SOCKET"))
    {
    }

    /// <summary>Test seam: the socket path as <c>NOTIFY_SOCKET</c> would give it.</summary>
    internal SystemdNotifier(string? socketPath)
    {
        if (string.IsNullOrEmpty(socketPath))
        {
            return;
        }

        // "@name" is Linux's abstract namespace, written with a leading NUL on the wire.
        var path = socketPath[0] == '@' ? "\0" + socketPath[1..] : socketPath;
        _endPoint = new UnixDomainSocketEndPoint(path);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    /// <summary>Whether the process runs under systemd with a notify socket.</summary>
    public bool IsEnabled => _socket is not null;

    /// <summary>Sends one state, e.g. <c>READY=1</c> or <c>STATUS=…</c>. Failures are swallowed: notification is best effort.</summary>
    public void Notify(string state)
    {
        if (_socket is null)
        {
            return;
        }

        var bytes = Encoding.UTF8.GetBytes(state);
        lock (_gate)
        {
            try
            {
                _socket.SendTo(bytes, _endPoint!);
            }
            catch (SocketException)
            {
                // systemd went away or the socket is gone: nothing useful to do.
            }
        }
    }

    public void Dispose() => _socket?.Dispose();
}

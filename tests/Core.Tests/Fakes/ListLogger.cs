using Microsoft.Extensions.Logging;

namespace Batchkeeper.Core.Tests.Fakes;

/// <summary>A logger that keeps every line it is given, with its event id and the scopes open around it.</summary>
public sealed class ListLogger<T> : ILogger<T>
{
    private readonly List<(int EventId, LogLevel Level, string Message)> _lines = [];
    private readonly AsyncLocal<ImmutableScopes?> _scopes = new();

    private sealed record ImmutableScopes(object State, ImmutableScopes? Outer);

    public IReadOnlyList<(int EventId, LogLevel Level, string Message)> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public int Count(int eventId) => Lines.Count(l => l.EventId == eventId);

    public IDisposable BeginScope<TState>(TState state)
        where TState : notnull
    {
        var outer = _scopes.Value;
        _scopes.Value = new ImmutableScopes(state, outer);
        return new Pop(() => _scopes.Value = outer);
    }

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        // The innermost scope's text, as the daemon's log templates print it after the message.
        var where = _scopes.Value?.State.ToString() ?? "";
        lock (_lines)
        {
            _lines.Add((eventId.Id, logLevel, formatter(state, exception) + where));
        }
    }

    private sealed class Pop(Action pop) : IDisposable
    {
        public void Dispose() => pop();
    }
}

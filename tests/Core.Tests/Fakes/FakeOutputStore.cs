using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Ports;

namespace Batchkeeper.Core.Tests.Fakes;

/// <summary>Outputs as a set of URIs that exist; counts and keeps every query.</summary>
public sealed class FakeOutputStore : IOutputStore
{
    private readonly Lock _gate = new();
    private readonly HashSet<string> _existing = new(StringComparer.Ordinal);
    private readonly List<IReadOnlyList<string>> _queries = [];
    private Exception? _failure;

    /// <summary>How many times <see cref="FindExistingAsync"/> was called.</summary>
    public int Calls
    {
        get
        {
            lock (_gate)
            {
                return _queries.Count;
            }
        }
    }

    /// <summary>The URIs asked about, one list per call.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Queries
    {
        get
        {
            lock (_gate)
            {
                return [.. _queries];
            }
        }
    }

    public void Add(params string[] uris)
    {
        lock (_gate)
        {
            _existing.UnionWith(uris);
        }
    }

    public void Remove(string uri)
    {
        lock (_gate)
        {
            _existing.Remove(uri);
        }
    }

    /// <summary>Every query from now on throws <paramref name="failure"/> (null: answers again), as an unreachable store does.</summary>
    public void FailWith(Exception? failure)
    {
        lock (_gate)
        {
            _failure = failure;
        }
    }

    public Task<IReadOnlySet<string>> FindExistingAsync(IReadOnlyCollection<OutputLocation> outputs, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _queries.Add([.. outputs.Select(o => o.Uri)]);
            if (_failure is not null)
            {
                return Task.FromException<IReadOnlySet<string>>(_failure);
            }

            IReadOnlySet<string> found = outputs.Select(o => o.Uri).Where(_existing.Contains).ToHashSet(StringComparer.Ordinal);
            return Task.FromResult(found);
        }
    }
}

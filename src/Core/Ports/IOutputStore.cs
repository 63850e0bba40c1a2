using Batchkeeper.Core.Planning;

namespace Batchkeeper.Core.Ports;

/// <summary>Tells which outputs exist.</summary>
public interface IOutputStore
{
    /// <summary>
    /// Returns the URIs of the outputs that exist, exactly (no prefix or basename matching).
    /// Implementations batch: one listing per common prefix, not one request per output.
    /// </summary>
    Task<IReadOnlySet<string>> FindExistingAsync(IReadOnlyCollection<OutputLocation> outputs, CancellationToken cancellationToken);
}

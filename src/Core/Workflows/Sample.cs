namespace Batchkeeper.Core.Workflows;

/// <summary>One row of a project's metadata: its <c>sample_name</c> and every column (including sample_name).</summary>
public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Columns);

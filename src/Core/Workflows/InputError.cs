namespace Batchkeeper.Core.Workflows;

/// <summary>
/// A problem with a person's input, precise enough to fix without reading code:
/// which file, which field, and what was expected.
/// </summary>
public sealed record InputError(string File, string Field, string Message)
{
    public override string ToString() =>
        string.IsNullOrEmpty(Field) ? $"{File}: {Message}" : $"{File}: {Field}: {Message}";
}

/// <summary>Thrown when input cannot be used at all; carries every problem found.</summary>
public sealed class InputException(IReadOnlyList<InputError> errors)
    : Exception(string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<InputError> Errors { get; } = errors;
}

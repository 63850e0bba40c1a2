using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Batchkeeper.Core.Planning;

/// <summary>
/// Deterministic Batch job names: <c>bk-{workflow}-{analysis}-{sample}</c> cut to fit, then <c>-{hash}</c>.
/// Batch allows at most 128 characters, the first alphanumeric, then letters, digits, <c>_</c> and <c>-</c>.
/// </summary>
public static class JobNames
{
    public const int MaxLength = 128;
    public const int HashLength = 10;

    /// <summary>The name for one slot; <paramref name="specHash"/> comes from <see cref="Hash"/>.</summary>
    public static string For(string workflow, string analysis, string sample, string specHash)
    {
        var stem = $"bk-{Sanitize(workflow)}-{Sanitize(analysis)}-{Sanitize(sample)}";
        var room = MaxLength - 1 - specHash.Length;
        if (stem.Length > room)
        {
            stem = stem[..room];
        }

        return $"{stem}-{specHash}";
    }

    /// <summary>The prefix every job of a workflow shares: what a ListJobs <c>JOB_NAME</c> filter asks for.</summary>
    public static string WorkflowPrefix(string workflow)
    {
        // Cut where For cuts the stem, or a long workflow name would give a prefix its own jobs do not start with.
        var prefix = $"bk-{Sanitize(workflow)}-";
        var room = MaxLength - 1 - HashLength;
        return prefix.Length > room ? prefix[..room] : prefix;
    }

    private static readonly System.Buffers.SearchValues<char> NameCharacters =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");

    /// <summary>Characters Batch does not allow in names become <c>_</c>.</summary>
    public static string Sanitize(string text)
    {
        if (!text.AsSpan().ContainsAnyExcept(NameCharacters))
        {
            // Most names need nothing: the planner sanitises three per slot.
            return text;
        }

        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' ? c : '_');
        }

        return builder.ToString();
    }

    /// <summary>
    /// The first <see cref="HashLength"/> hex digits of SHA-256 over the given fields, each length-prefixed
    /// so that no two different field lists can give the same input.
    /// </summary>
    public static string Hash(IEnumerable<string?> fields)
    {
        var input = new HashInput();
        foreach (var field in fields)
        {
            input.Add(field);
        }

        return input.Finish();
    }

    /// <summary>
    /// The input of <see cref="Hash"/>, written field by field as UTF-8 into a pooled buffer: <c>{length}:{field}</c>
    /// (the length in UTF-16 code units), or <c>-1:</c> for none. The planner hashes every slot's spec, millions at an
    /// institute's scale; a list of strings joined in a StringBuilder and encoded again made four copies of each.
    /// Encoding field by field gives the bytes encoding the joined text gave (a field never meets another's characters:
    /// a length and a colon lie between), so the names are those of before.
    /// </summary>
    public struct HashInput
    {
        private byte[]? _buffer;
        private int _length;

        public void Add(string? field)
        {
            if (field is null)
            {
                Append("-1:"u8);
                return;
            }

            AppendNumber(field.Length);
            Append(":"u8);
            Reserve(Encoding.UTF8.GetMaxByteCount(field.Length));
            _length += Encoding.UTF8.GetBytes(field, _buffer.AsSpan(_length));
        }

        /// <summary>A number as its field (its decimal text), as <c>Add(value?.ToString(InvariantCulture))</c> adds it.</summary>
        public void Add(int? value)
        {
            if (value is not { } number)
            {
                Add((string?)null);
                return;
            }

            Span<byte> digits = stackalloc byte[11];
            number.TryFormat(digits, out var count, provider: System.Globalization.CultureInfo.InvariantCulture);
            AppendNumber(count);
            Append(":"u8);
            Append(digits[..count]);
        }

        /// <summary>A section's heading, <c>{name}:{count}</c>, as one field.</summary>
        public void AddHeading(string name, int count) => Add($"{name}:{count}");

        /// <summary>The hash of what was added; the buffer goes back to the pool.</summary>
        public string Finish()
        {
            Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(_buffer.AsSpan(0, _length), digest);
            if (_buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = null;
            }

            // The first HashLength hex digits are the first HashLength / 2 bytes: no 64-digit string to cut.
            return Convert.ToHexStringLower(digest[..(HashLength / 2)]);
        }

        private void AppendNumber(int number)
        {
            Span<byte> digits = stackalloc byte[11];
            number.TryFormat(digits, out var count, provider: System.Globalization.CultureInfo.InvariantCulture);
            Append(digits[..count]);
        }

        private void Append(ReadOnlySpan<byte> bytes)
        {
            Reserve(bytes.Length);
            bytes.CopyTo(_buffer.AsSpan(_length));
            _length += bytes.Length;
        }

        private void Reserve(int more)
        {
            if (_buffer is null || _buffer.Length - _length < more)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(1024, (_length + more) * 2));
                if (_buffer is not null)
                {
                    _buffer.AsSpan(0, _length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(_buffer);
                }

                _buffer = bigger;
            }
        }
    }
}

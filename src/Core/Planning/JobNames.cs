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

    /// <summary>Characters Batch does not allow in names become <c>_</c>.</summary>
    public static string Sanitize(string text)
    {
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
        var builder = new StringBuilder();
        foreach (var field in fields)
        {
            if (field is null)
            {
                builder.Append("-1:");
            }
            else
            {
                builder.Append(field.Length).Append(':').Append(field);
            }
        }

        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(builder.ToString()), digest);
        // The first HashLength hex digits are the first HashLength / 2 bytes: no 64-digit string to cut.
        return Convert.ToHexStringLower(digest[..(HashLength / 2)]);
    }
}

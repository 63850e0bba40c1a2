using System.Collections.Concurrent;

namespace Batchkeeper.Core.Planning;

/// <summary>Where an output lives: an S3 object or a local file.</summary>
/// <param name="Uri">The canonical form: <c>s3://bucket/key</c> or <c>file:///absolute/path</c>.</param>
/// <param name="Bucket">The S3 bucket, or null for a local file.</param>
/// <remarks>
/// A plan keeps one of these per output of every slot, so it holds the URI alone (with the bucket, one of a few
/// interned strings) and cuts the key out of it when asked: the S3 store asks only for outputs it must look up.
/// </remarks>
public sealed record OutputLocation(string Uri, string? Bucket)
{
    public bool IsS3 => Bucket is not null;

    /// <summary>The S3 key, or the absolute local path (made on each call).</summary>
    public string Key => Bucket is null ? Uri[FileScheme.Length..] : Uri[(S3Scheme.Length + Bucket.Length + 1)..];

    private const string S3Scheme = "s3://";
    private const string FileScheme = "file://";

    /// <summary>
    /// One string per bucket name, looked up by the name's characters: every output of a workflow names one of a few
    /// buckets, and plans are kept between passes. String.Intern did the same behind a process-wide lock, and a cut
    /// string per output to ask it with: at 3,000,000 slots that was 2% of the start-up.
    /// </summary>
    private static readonly ConcurrentDictionary<string, string> Buckets = new(StringComparer.Ordinal);

    private static string BucketNamed(ReadOnlySpan<char> name)
    {
        var lookup = Buckets.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(name, out var known))
        {
            return known;
        }

        var bucket = name.ToString();
        return Buckets.GetOrAdd(bucket, bucket);
    }

    /// <summary>Parses an expanded output: <c>s3://…</c>, <c>file:///…</c> or a plain path relative to <paramref name="baseDirectory"/>.</summary>
    public static OutputLocation? Parse(string text, string baseDirectory, out string? error)
    {
        error = null;
        if (text.StartsWith("s3://", StringComparison.OrdinalIgnoreCase))
        {
            var rest = text.AsSpan(S3Scheme.Length);
            var slash = rest.IndexOf('/');
            if (slash <= 0 || slash == rest.Length - 1)
            {
                error = $"'{text}' is not an S3 object URI; expected s3://bucket/key";
                return null;
            }

            if (rest.EndsWith('/'))
            {
                error = $"'{text}' names a folder; an output must be one object (its exact key must exist)";
                return null;
            }

            var bucket = BucketNamed(rest[..slash]);
            return new OutputLocation(string.Concat(S3Scheme, bucket, rest[slash..]), bucket);
        }

        string path;
        if (text.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
        {
            path = System.Uri.UnescapeDataString(text[7..]);
            if (!path.StartsWith('/'))
            {
                error = $"'{text}' is not an absolute file URI; write file:///absolute/path, or a plain path relative to the project folder";
                return null;
            }
        }
        else if (text.Contains("://", StringComparison.Ordinal))
        {
            error = $"'{text}' has an unsupported scheme; expected s3://, file:// or a plain path";
            return null;
        }
        else if (text.Length == 0)
        {
            error = "is empty; expected s3://bucket/key, file:///path or a path";
            return null;
        }
        else
        {
            path = text;
        }

        if (path.EndsWith('/'))
        {
            error = $"'{text}' names a folder; an output must be one file";
            return null;
        }

        // Path.GetFullPath only normalises text; it does no I/O.
        var full = Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(baseDirectory, path));
        return new OutputLocation(FileScheme + full, null);
    }
}

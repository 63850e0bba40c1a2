using Amazon.S3;
using Amazon.S3.Model;
using Batchkeeper.Core.Ports;
using OutputLocation = Batchkeeper.Core.Planning.OutputLocation;

namespace Batchkeeper.Daemon.Aws;

/// <summary>
/// S3 outputs, checked in bulk: the outputs of one bucket are listed with ListObjectsV2 (1,000 keys a page)
/// under their longest common key prefix, each page starting at the first output not yet answered for, so thousands
/// of outputs cost a handful of requests, and other objects between them cost pages only where they are dense. A group of very few outputs uses HeadObject instead,
/// which is cheaper than listing a crowded prefix. Outputs known to exist are not asked about again
/// until <see cref="KnownTtl"/> has passed.
/// </summary>
public sealed class S3OutputStore(IAmazonS3 s3, TimeProvider clock) : IOutputStore
{
    /// <summary>
    /// When each output was last seen to exist (UTC ticks), by URI. A dictionary under a lock rather than a
    /// ConcurrentDictionary: it holds an entry for every output of every workflow (millions at an institute's scale), and
    /// an entry here takes 24 bytes where a ConcurrentDictionary's node takes 56. Entries older than <see cref="KnownTtl"/>
    /// are swept once per <see cref="KnownTtl"/>, so outputs of workflows gone are not kept for ever.
    /// </summary>
    private readonly Dictionary<string, long> _known = new(StringComparer.Ordinal);
    private readonly Lock _knownLock = new();
    private long _sweptAt;
    private long _listPages;
    private long _heads;

    /// <summary>Groups with at most this many outputs are checked with HeadObject. Default 2.</summary>
    public int HeadThreshold { get; init; } = 2;

    /// <summary>How long an output seen to exist is trusted without asking again. Default 1 hour.</summary>
    public TimeSpan KnownTtl { get; init; } = TimeSpan.FromHours(1);

    /// <summary>ListObjectsV2 pages requested so far (for benchmarks and tests).</summary>
    public long ListPages => Interlocked.Read(ref _listPages);

    /// <summary>How many outputs are remembered as existing (for tests).</summary>
    internal int KnownCount
    {
        get
        {
            lock (_knownLock)
            {
                return _known.Count;
            }
        }
    }

    /// <summary>HeadObject requests made so far.</summary>
    public long Heads => Interlocked.Read(ref _heads);

    /// <summary>Called when S3 rejects the credentials as expired or unknown, so that they are looked up again.</summary>
    public Action? CredentialsRejected { get; init; }

    public async Task<IReadOnlySet<string>> FindExistingAsync(IReadOnlyCollection<OutputLocation> outputs, CancellationToken cancellationToken)
    {
        try
        {
            return await FindAsync(outputs, cancellationToken);
        }
        catch (Exception e) when (e is Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or HttpRequestException or IOException or TimeoutException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var rejected = e is Amazon.Runtime.AmazonServiceException service && AwsResiliencePolicy.RejectsCredentials(service.ErrorCode);
            if (rejected)
            {
                CredentialsRejected?.Invoke();
            }

            // The SDK's messages ("Connection refused (127.0.0.1:9000)", "Access Denied") do not say what was asked of whom.
            var buckets = string.Join(", s3://", outputs.Where(o => o.IsS3).Select(o => o.Bucket).Distinct(StringComparer.Ordinal));
            var code = e is Amazon.Runtime.AmazonServiceException { ErrorCode: { Length: > 0 } errorCode } ? $"{errorCode}: " : "";
            var hint = rejected ? $" {AwsResiliencePolicy.RejectedCredentialsHint}" : "";
            throw new OutputStoreUnavailableException($"S3 could not be asked whether outputs exist ({outputs.Count(o => o.IsS3)} outputs in s3://{buckets}): {code}{e.Message}{hint}", e);
        }
    }

    private async Task<IReadOnlySet<string>> FindAsync(IReadOnlyCollection<OutputLocation> outputs, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcTicks;
        var ttl = KnownTtl.Ticks;
        // Sized for every output at once: grown from empty it was rebuilt some fifteen times a pass, for each workflow.
        // An output asked about twice is asked once: the set takes it once, and the listing's lookup once (TryAdd).
        var existing = new HashSet<string>(outputs.Count, StringComparer.Ordinal);
        var unknown = new List<OutputLocation>();
        lock (_knownLock)
        {
            SweepKnown(now, ttl);
            foreach (var output in outputs)
            {
                if (!output.IsS3)
                {
                    continue;
                }

                if (_known.TryGetValue(output.Uri, out var seen) && now - seen < ttl)
                {
                    existing.Add(output.Uri);
                }
                else
                {
                    unknown.Add(output);
                }
            }
        }

        foreach (var group in Group(unknown))
        {
            var found = group.Count <= HeadThreshold
                ? await HeadAsync(group, cancellationToken)
                : await ListAsync(group, cancellationToken);
            lock (_knownLock)
            {
                foreach (var output in found)
                {
                    existing.Add(output.Uri);
                    _known[output.Uri] = now;
                }
            }
        }

        return existing;
    }

    /// <summary>Once per TTL, forgets the outputs not seen within it (called under the lock).</summary>
    private void SweepKnown(long now, long ttl)
    {
        if (now - _sweptAt < ttl)
        {
            return;
        }

        _sweptAt = now;
        foreach (var (uri, seen) in _known)
        {
            if (now - seen >= ttl)
            {
                _known.Remove(uri);
            }
        }
    }

    /// <summary>
    /// Outputs per bucket, sorted ordinally: one listing covers the key range from their common prefix to the
    /// greatest of them, whether they share one folder or sit in a folder per sample.
    /// </summary>
    /// <remarks>
    /// By URI: within one bucket the URIs differ only after <c>s3://bucket/</c>, so they sort as the keys do, and no key
    /// is cut out of its URI (30,000 strings a pass for a large workflow, kept until its listing ends).
    /// </remarks>
    private static IEnumerable<List<OutputLocation>> Group(List<OutputLocation> outputs) =>
        outputs
            .GroupBy(o => o.Bucket!, StringComparer.Ordinal)
            .Select(g => g.OrderBy(o => o.Uri, StringComparer.Ordinal).ToList());

    private async Task<List<OutputLocation>> HeadAsync(List<OutputLocation> group, CancellationToken cancellationToken)
    {
        var found = new List<OutputLocation>();
        foreach (var output in group)
        {
            Interlocked.Increment(ref _heads);
            try
            {
                await s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = output.Bucket, Key = output.Key }, cancellationToken);
                found.Add(output);
            }
            catch (AmazonS3Exception e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                // Not there yet.
            }
        }

        return found;
    }

    /// <summary>
    /// Lists the keys of a sorted group of outputs: each page starts just before the first wanted key not yet known
    /// about (<c>StartAfter</c>) and covers every key up to the last one it returns, so existing objects between
    /// widely spread outputs (the complete samples of a workflow in progress) are skipped rather than paged through.
    /// </summary>
    private async Task<List<OutputLocation>> ListAsync(List<OutputLocation> group, CancellationToken cancellationToken)
    {
        // By URI, looked up by a listed key written after the bucket's own "s3://bucket/" in a buffer of this listing's:
        // no key is cut out of its URI, and no URI is made for each key listed.
        var byUri = new Dictionary<string, OutputLocation>(group.Count, StringComparer.Ordinal);
        foreach (var output in group)
        {
            byUri.TryAdd(output.Uri, output);
        }

        var wanted = byUri.GetAlternateLookup<ReadOnlySpan<char>>();
        var uriPrefix = $"s3://{group[0].Bucket}/";
        var buffer = new char[uriPrefix.Length + 1024];
        uriPrefix.CopyTo(buffer);
        var prefix = CommonPrefix(group[0].Key, group[^1].Key);
        var found = new List<OutputLocation>();
        var next = 0;
        while (next < group.Count)
        {
            Interlocked.Increment(ref _listPages);
            var request = new ListObjectsV2Request { BucketName = group[0].Bucket, Prefix = prefix, MaxKeys = 1000, StartAfter = JustBefore(group[next].Key) };
            var response = await s3.ListObjectsV2Async(request, cancellationToken);
            var objects = response.S3Objects ?? [];
            foreach (var item in objects)
            {
                // S3 keys are at most 1,024 bytes of UTF-8, so at most 1,024 UTF-16 characters.
                if (item.Key is { Length: <= 1024 } key)
                {
                    key.CopyTo(buffer.AsSpan(uriPrefix.Length));
                    if (wanted.TryGetValue(buffer.AsSpan(0, uriPrefix.Length + key.Length), out var output))
                    {
                        found.Add(output);
                    }
                }
            }

            if (response.IsTruncated != true || objects.Count == 0)
            {
                return found;
            }

            // Keys come in order: every wanted key up to the last one returned has been answered for.
            var last = objects[^1].Key;
            while (next < group.Count && group[next].Uri.AsSpan(uriPrefix.Length).SequenceCompareTo(last) <= 0)
            {
                next++;
            }
        }

        return found;
    }

    /// <summary>A StartAfter that lists <paramref name="key"/> itself: the key without its last character, which sorts before it.</summary>
    private static string? JustBefore(string key)
    {
        if (key.Length == 0)
        {
            return null;
        }

        var cut = char.IsLowSurrogate(key[^1]) && key.Length > 1 ? 2 : 1;
        return key.Length > cut ? key[..^cut] : null;
    }

    /// <summary>The longest common prefix of the first and last key of an ordinally sorted list: that of all of them.</summary>
    private static string CommonPrefix(string first, string last)
    {
        var length = 0;
        while (length < first.Length && length < last.Length && first[length] == last[length])
        {
            length++;
        }

        return first[..length];
    }
}

/// <summary>An output store could not answer: the pass fails for its workflow and outputs are not taken for missing.</summary>
public sealed class OutputStoreUnavailableException : Exception
{
    public OutputStoreUnavailableException()
    {
    }

    public OutputStoreUnavailableException(string message)
        : base(message)
    {
    }

    public OutputStoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

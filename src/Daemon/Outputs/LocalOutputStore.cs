using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Ports;

namespace Batchkeeper.Daemon.Outputs;

/// <summary>Local file outputs: one directory listing per folder, not one check per file.</summary>
public sealed class LocalOutputStore : IOutputStore
{
    public Task<IReadOnlySet<string>> FindExistingAsync(IReadOnlyCollection<OutputLocation> outputs, CancellationToken cancellationToken)
    {
        var existing = new HashSet<string>(StringComparer.Ordinal);
        foreach (var folder in outputs.Where(o => !o.IsS3).GroupBy(o => Path.GetDirectoryName(o.Key)!))
        {
            cancellationToken.ThrowIfCancellationRequested();
            HashSet<string> files;
            try
            {
                files = Directory.Exists(folder.Key)
                    ? Directory.EnumerateFiles(folder.Key).ToHashSet(StringComparer.Ordinal)
                    : [];
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                files = [];
            }

            foreach (var output in folder)
            {
                if (files.Contains(output.Key))
                {
                    existing.Add(output.Uri);
                }
            }
        }

        return Task.FromResult<IReadOnlySet<string>>(existing);
    }
}

/// <summary>Sends each output to the store for its scheme: files locally, <c>s3://</c> to S3 when configured.</summary>
public sealed class RoutingOutputStore(LocalOutputStore files, IOutputStore? s3 = null) : IOutputStore
{
    public async Task<IReadOnlySet<string>> FindExistingAsync(IReadOnlyCollection<OutputLocation> outputs, CancellationToken cancellationToken)
    {
        var onS3 = outputs.Count(o => o.IsS3);
        if (onS3 > 0 && s3 is null)
        {
            throw new InvalidOperationException(
                $"outputs such as {outputs.First(o => o.IsS3).Uri} are on S3, but no S3 store is configured: set Batchkeeper:Backend to Aws (or use file outputs)");
        }

        if (onS3 > 0 && onS3 == outputs.Count)
        {
            // All on S3 (the usual case on AWS): asked as they are, and the answer returned as it is, not copied.
            return await s3!.FindExistingAsync(outputs, cancellationToken);
        }

        var local = await files.FindExistingAsync(outputs, cancellationToken);
        if (onS3 == 0)
        {
            return local;
        }

        var existing = new HashSet<string>(local, StringComparer.Ordinal);
        existing.UnionWith(await s3!.FindExistingAsync([.. outputs.Where(o => o.IsS3)], cancellationToken));
        return existing;
    }
}

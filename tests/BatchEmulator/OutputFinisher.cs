using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;

namespace Batchkeeper.BatchEmulator;

/// <summary>
/// What a succeeding attempt does before it SUCCEEDS: PUT one small object per URI of
/// <c>BATCHKEEPER_OUTPUTS</c> (when an S3 endpoint is configured), then run the
/// <see cref="BatchEmulatorOptions.OnSucceeded"/> hook. A failure of either fails the attempt.
/// </summary>
internal sealed class OutputFinisher : IDisposable
{
    /// <summary>The container environment variable that lists a job's outputs, one URI a line.</summary>
    public const string OutputsVariable = "BATCHKEEPER_OUTPUTS";

    private readonly AmazonS3Client? _s3;
    private readonly Func<EmulatedJob, CancellationToken, Task>? _hook;
    private readonly CancellationToken _stopping;
    private readonly ILogger _logger;

    private OutputFinisher(AmazonS3Client? s3, Func<EmulatedJob, CancellationToken, Task>? hook, ILogger logger, CancellationToken stopping)
    {
        _s3 = s3;
        _hook = hook;
        _stopping = stopping;
        _logger = logger;
    }

    /// <summary>A finisher for these options, or null when there is nothing to do on success.</summary>
    public static OutputFinisher? Create(BatchEmulatorOptions options, ILogger logger, CancellationToken stopping)
    {
        if (options.S3ServiceUrl is null && options.OnSucceeded is null)
        {
            return null;
        }

        AmazonS3Client? s3 = null;
        if (options.S3ServiceUrl is { } url)
        {
            // s3rver's traps (shared/toolchain.md): path style, no chunked signing, checksums only when required.
            var config = new AmazonS3Config
            {
                ServiceURL = url.ToString(),
                ForcePathStyle = true,
                AuthenticationRegion = options.S3Region,
                RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
                ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
                MaxErrorRetry = 1,
                Timeout = TimeSpan.FromSeconds(10),
            };
            s3 = new AmazonS3Client(new BasicAWSCredentials(options.S3AccessKey, options.S3SecretKey), config);
        }

        return new OutputFinisher(s3, options.OnSucceeded, logger, stopping);
    }

    public bool Applies(JobRecord job) => _hook is not null || (_s3 is not null && job.Outputs.Count > 0);

    /// <summary>Null when the attempt may succeed; otherwise the container reason of its failure.</summary>
    public async Task<string?> FinishAsync(EmulatedJob job)
    {
        if (_s3 is not null)
        {
            foreach (var uri in job.Outputs)
            {
                if (!TryParseS3(uri, out var bucket, out var key))
                {
                    return $"{OutputsVariable}: '{uri}' is not an s3://bucket/key URI.";
                }

                try
                {
                    await _s3.PutObjectAsync(
                        new PutObjectRequest
                        {
                            BucketName = bucket,
                            Key = key,
                            ContentBody = $"written by the Batch emulator for job {job.JobName} ({job.JobId}), attempt {job.AttemptCount}\n",
                            ContentType = "text/plain",
                            UseChunkEncoding = false,
                        },
                        _stopping).ConfigureAwait(false);
                    Log.OutputWritten(_logger, job.JobId, uri);
                }
                catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or TaskCanceledException)
                {
                    Log.OutputFailed(_logger, job.JobId, uri, e);
                    return $"{OutputsVariable}: PUT {uri} failed: {e.Message}";
                }
            }
        }

        if (_hook is not null)
        {
            await _hook(job, _stopping).ConfigureAwait(false);
        }

        return null;
    }

    internal static bool TryParseS3(string uri, out string bucket, out string key)
    {
        bucket = key = "";
        if (!uri.StartsWith("s3://", StringComparison.Ordinal))
        {
            return false;
        }

        var rest = uri["s3://".Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == rest.Length - 1)
        {
            return false;
        }

        bucket = rest[..slash];
        key = rest[(slash + 1)..];
        return true;
    }

    public void Dispose() => _s3?.Dispose();
}

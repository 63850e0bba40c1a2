using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Batchkeeper.Daemon.Aws;

/// <summary>
/// Credentials from the SDK's default chain (environment variables, <c>AWS_PROFILE</c> and <c>~/.aws</c>,
/// SSO, web identity, ECS, EC2 instance metadata), looked up on first use rather than at start-up, so a
/// daemon on the local backend never needs AWS credentials.
/// </summary>
/// <remarks>
/// Only the credentials <em>source</em> is cached, never the keys: every signature asks it for current
/// keys, and the SDK's refreshing sources (SSO, assume-role, web identity, ECS, instance metadata) renew
/// them before they expire. A failed lookup is not cached, so the next request looks again.
/// </remarks>
internal sealed class LazyAwsCredentials : AWSCredentials, IDisposable
{
    private readonly Func<Task<AWSCredentials>> _resolve;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile AWSCredentials? _source;

    public LazyAwsCredentials(ILogger? logger = null)
        : this(() => DefaultAWSCredentialsIdentityResolver.GetCredentialsAsync(null), logger)
    {
    }

    /// <summary>
    /// Forgets the source, so that the next request looks the credentials up again: called when a service rejects them
    /// as expired or unknown, after which rotated keys in the credentials file (or new environment of a credential
    /// process) are found without a restart.
    /// </summary>
    public void Invalidate()
    {
        if (_source is not null)
        {
            _source = null;
            AwsLog.CredentialsRejected(_logger);
        }
    }

    internal LazyAwsCredentials(Func<Task<AWSCredentials>> resolve, ILogger? logger = null)
    {
        _resolve = resolve;
        _logger = logger ?? NullLogger.Instance;
    }

    public override ImmutableCredentials GetCredentials() =>
        GetSourceAsync().GetAwaiter().GetResult().GetCredentials();

    public override async Task<ImmutableCredentials> GetCredentialsAsync()
    {
        var source = await GetSourceAsync().ConfigureAwait(false);
        return await source.GetCredentialsAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// AWSSDK.Core reads <c>AWS_SHARED_CREDENTIALS_FILE</c> and <c>AWS_CONFIG_FILE</c> once per process and ignores one
    /// that names a missing file, for good: the operator who then creates that file must hear that it will not be read.
    /// </summary>
    internal static string? IgnoredFiles()
    {
        var notes = new List<string>();
        void Check(string variable, string? used)
        {
            var named = Environment.GetEnvironmentVariable(variable);
            if (!string.IsNullOrEmpty(named) && !string.Equals(Path.GetFullPath(named), used is null ? null : Path.GetFullPath(used), StringComparison.Ordinal))
            {
                notes.Add($"{variable} names {named}, which did not exist when AWSSDK.Core first looked: it reads {used} instead until the daemon restarts.");
            }
        }

        Check(Amazon.Runtime.CredentialManagement.SharedCredentialsFile.SharedCredentialsFileEnvVar, Amazon.Runtime.CredentialManagement.SharedCredentialsFile.DefaultFilePath);
        Check(Amazon.Runtime.CredentialManagement.SharedCredentialsFile.SharedConfigFileEnvVar, Amazon.Runtime.CredentialManagement.SharedCredentialsFile.DefaultConfigFilePath);
        return notes.Count == 0 ? null : string.Join(" ", notes);
    }

    // The source is not disposed: the SDK's default chain may hand the same instance to other clients.
    public void Dispose() => _gate.Dispose();

    private async Task<AWSCredentials> GetSourceAsync()
    {
        if (_source is { } source)
        {
            return source;
        }

        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_source is null)
            {
                AWSCredentials resolved;
                try
                {
                    resolved = await _resolve().ConfigureAwait(false);
                }
                catch (AmazonClientException e) when (IgnoredFiles() is { } ignored)
                {
                    throw new AmazonClientException($"{e.Message.TrimEnd()} {ignored}", e);
                }

                AwsLog.CredentialsResolved(_logger, resolved.GetType().Name);
                _source = resolved;
            }

            return _source;
        }
        finally
        {
            _gate.Release();
        }
    }
}

using Microsoft.Extensions.Logging;

namespace Batchkeeper.Daemon.Aws;

/// <summary>
/// Log lines of the AWS clients (event ids 3000–3099). None carries a credential, a signature or a query string.
/// </summary>
internal static partial class AwsLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning,
        Message = "AWS {Service} request {Method} {Path} failed on attempt {Attempt} of {MaxAttempts} ({Reason}); retrying in {DelayMs} ms.")]
    public static partial void Retrying(ILogger logger, string service, string method, string path, int attempt, int maxAttempts, string reason, long delayMs);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning,
        Message = "AWS {Service} request {Method} {Path} failed on its last attempt, {Attempt} ({Reason}).")]
    public static partial void GivingUp(ILogger logger, string service, string method, string path, int attempt, string reason);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information,
        Message = "AWS {Service} client: region {Region} (from {RegionSource}), endpoint {Endpoint}.")]
    public static partial void ClientCreated(ILogger logger, string service, string region, string regionSource, Uri endpoint);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information,
        Message = "AWS credentials found by the default chain: {CredentialsSource}.")]
    public static partial void CredentialsResolved(ILogger logger, string credentialsSource);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning,
        Message = "AWS rejected the credentials as expired or unknown: they will be looked up again for the next request.")]
    public static partial void CredentialsRejected(ILogger logger);
}

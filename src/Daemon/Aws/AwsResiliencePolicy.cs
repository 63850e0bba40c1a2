using System.Net;
using System.Security.Authentication;
using System.Threading.RateLimiting;
using Polly;
using Polly.Timeout;

namespace Batchkeeper.Daemon.Aws;

/// <summary>
/// The retry and rate rules of one AWS service: bounded attempts, exponential backoff with full jitter (or the
/// service's <c>Retry-After</c>), a per-attempt timeout and one token bucket shared by every request to the service.
/// One instance per service, for the life of the process (the limiter only limits what shares it); the
/// Microsoft.Extensions.Http.Resilience pipeline that applies them is built in <see cref="AwsResiliencePipeline"/>.
/// </summary>
internal sealed class AwsResiliencePolicy : IDisposable
{
    // Error codes that mean "slow down" whatever the HTTP status (rest-json services put them in
    // x-amzn-ErrorType); the list the AWS SDKs treat as throttling.
    private static readonly HashSet<string> ThrottlingCodes = new(StringComparer.Ordinal)
    {
        "TooManyRequestsException", "ThrottlingException", "Throttling", "ThrottledException", "RequestThrottled",
        "RequestThrottledException", "RequestLimitExceeded", "SlowDown", "TransactionInProgressException",
        "ProvisionedThroughputExceededException", "BandwidthLimitExceeded", "LimitExceededException",
        "PriorRequestNotComplete", "EC2ThrottledException",
    };

    private readonly Func<double> _random;
    private readonly bool _ownsLimiter;

    /// <param name="serviceName">The service, for log lines (e.g. <c>batch</c>).</param>
    /// <param name="options">Attempts, timeout, delays and rate.</param>
    /// <param name="limiter">Test seam; default: a token bucket of <see cref="AwsOptions.MaxRequestsPerSecond"/>, owned and disposed by this policy.</param>
    /// <param name="random">Test seam; returns a number in [0, 1). Default: <see cref="Random.Shared"/>.</param>
    public AwsResiliencePolicy(
        string serviceName,
        AwsOptions options,
        RateLimiter? limiter = null,
        Func<double>? random = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ServiceName = serviceName;
        MaxAttempts = Math.Max(1, options.MaxAttempts);
        AttemptTimeout = options.AttemptTimeout;
        BaseDelay = options.RetryBaseDelay;
        MaxDelay = options.RetryMaxDelay;
        _random = random ?? Random.Shared.NextDouble;
        _ownsLimiter = limiter is null;
        Limiter = limiter ?? new TokenBucketRateLimiter(CreateRateLimiterOptions(options.MaxRequestsPerSecond));
    }

    public string ServiceName { get; }

    public int MaxAttempts { get; }

    public TimeSpan AttemptTimeout { get; }

    public TimeSpan BaseDelay { get; }

    public TimeSpan MaxDelay { get; }

    public RateLimiter Limiter { get; }

    /// <summary>
    /// A token bucket that holds <paramref name="requestsPerSecond"/> on average and lets through a burst of at
    /// most one second's worth. Tokens come back in small steps (about every 10 ms or more) so that waiting
    /// requests leave evenly rather than in one lump each second.
    /// </summary>
    public static TokenBucketRateLimiterOptions CreateRateLimiterOptions(int requestsPerSecond)
    {
        var rate = Math.Max(1, requestsPerSecond);
        // tokensPerPeriod / period == rate exactly, with the period no shorter than 10 ms.
        var tokensPerPeriod = (int)Math.Ceiling(rate / 100.0);
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = rate,
            TokensPerPeriod = tokensPerPeriod,
            ReplenishmentPeriod = TimeSpan.FromTicks(TimeSpan.TicksPerSecond * tokensPerPeriod / rate),
            AutoReplenishment = true,
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        };
    }

    /// <summary>
    /// The wait after the <paramref name="failedAttempt"/>-th attempt failed (1-based): a uniformly random
    /// duration in [0, min(<see cref="MaxDelay"/>, <see cref="BaseDelay"/> × 2^(n-1))) ("full jitter").
    /// </summary>
    public TimeSpan BackoffDelay(int failedAttempt)
    {
        var ceiling = BackoffCeiling(failedAttempt);
        var fraction = Math.Clamp(_random(), 0.0, 1.0);
        return TimeSpan.FromTicks((long)(ceiling.Ticks * fraction));
    }

    /// <summary>The upper bound of <see cref="BackoffDelay"/> for the <paramref name="failedAttempt"/>-th failure.</summary>
    public TimeSpan BackoffCeiling(int failedAttempt)
    {
        var exponent = Math.Clamp(failedAttempt - 1, 0, 62);
        var ticks = Math.Min(MaxDelay.Ticks, BaseDelay.Ticks * Math.Pow(2, exponent));
        return TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>
    /// The wait before the next attempt after the <paramref name="failedAttempt"/>-th failed: what the service asked for
    /// in <c>Retry-After</c> (seconds or a date, by <paramref name="clock"/>), up to <see cref="MaxDelay"/>; else
    /// <see cref="BackoffDelay"/>.
    /// </summary>
    public TimeSpan RetryDelay(int failedAttempt, HttpResponseMessage? response, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(clock);
        var asked = response?.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - clock.GetUtcNow(),
            _ => (TimeSpan?)null,
        };
        return asked is { } wait
            ? TimeSpan.FromTicks(Math.Clamp(wait.Ticks, 0, MaxDelay.Ticks))
            : BackoffDelay(failedAttempt);
    }

    /// <summary>
    /// Why an attempt's outcome is worth another attempt, and whether this request may be sent again: null for a final
    /// outcome (a success, a client error, the caller's cancellation). A request marked
    /// <see cref="AwsResiliencePipeline.NotIdempotent"/> may be sent again only when the service certainly did not act
    /// on it: throttled, or no connection made.
    /// </summary>
    public (string Reason, bool Repeatable)? Failure(Outcome<HttpResponseMessage> outcome, bool notIdempotent)
    {
        if (outcome.Result is { } response)
        {
            return RetryReason(response) is { } reason ? (reason, !notIdempotent || IsThrottled(response)) : null;
        }

        return outcome.Exception switch
        {
            TimeoutRejectedException => ($"no complete response within {AttemptTimeout.TotalSeconds:0.###} s", !notIdempotent),
            { } e when IsTransient(e) => ($"{e.GetType().Name}: {e.Message}", !notIdempotent || NeverSent(e)),
            _ => null,
        };
    }

    /// <summary>Why <paramref name="response"/> should be retried, or null when it is final (success or a client error).</summary>
    public static string? RetryReason(HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var status = (int)response.StatusCode;
        var code = AwsErrorResponse.ErrorCodeOf(response);
        var transient = response.StatusCode is HttpStatusCode.TooManyRequests
            or HttpStatusCode.InternalServerError
            or HttpStatusCode.BadGateway
            or HttpStatusCode.ServiceUnavailable
            or HttpStatusCode.GatewayTimeout;
        if (!transient && (status < 400 || code is null || !ThrottlingCodes.Contains(code)))
        {
            return null;
        }

        return code is null ? $"HTTP {status}" : $"HTTP {status} {code}";
    }

    // A wrong secret shows as a bad signature (Batch: InvalidSignatureException, S3: SignatureDoesNotMatch): a rotated
    // secret in the credentials file is found by looking the credentials up again, as an expired token is.
    private static readonly HashSet<string> RejectedCredentialCodes = new(StringComparer.Ordinal)
    {
        "ExpiredToken", "ExpiredTokenException", "UnrecognizedClientException", "InvalidClientTokenId",
        "InvalidAccessKeyId", "InvalidToken", "TokenRefreshRequired", "InvalidSignatureException", "SignatureDoesNotMatch",
    };

    /// <summary>What an operator reads after a service's message when it rejected the credentials.</summary>
    public const string RejectedCredentialsHint =
        "The AWS credentials in use were rejected: renew them where the default chain finds them (environment, shared credentials file, SSO or role); they are looked up again for the next request.";

    /// <summary>Whether a response says the credentials are expired or unknown (so looking them up again may help).</summary>
    public static bool RejectsCredentials(HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return (int)response.StatusCode is 400 or 401 or 403 && AwsErrorResponse.ErrorCodeOf(response) is { } code && RejectedCredentialCodes.Contains(code);
    }

    /// <summary>The same test for an S3 (or other SDK client) error code.</summary>
    public static bool RejectsCredentials(string? errorCode) => errorCode is not null && RejectedCredentialCodes.Contains(errorCode);

    /// <summary>Whether a response says the request was refused for its rate, so certainly not acted on.</summary>
    public static bool IsThrottled(HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var code = AwsErrorResponse.ErrorCodeOf(response);
        return response.StatusCode == HttpStatusCode.TooManyRequests || (code is not null && ThrottlingCodes.Contains(code));
    }

    /// <summary>Whether a transport failure happened before the request could reach the service (no connection).</summary>
    public static bool NeverSent(Exception exception) =>
        exception is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError };

    /// <summary>Whether an exception from the transport is worth another attempt (a dropped or refused connection).</summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError } => false,
        HttpRequestException { InnerException: AuthenticationException } => false,
        HttpRequestException => true,
        IOException => true,
        _ => false,
    };

    public void Dispose()
    {
        if (_ownsLimiter)
        {
            Limiter.Dispose();
        }
    }
}

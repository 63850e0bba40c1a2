using Batchkeeper.Daemon.Metrics;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.RateLimiting;
using Polly.Retry;
using Polly.Timeout;

namespace Batchkeeper.Daemon.Aws;

/// <summary>
/// The Microsoft.Extensions.Http.Resilience pipeline of one AWS service's HttpClient (Polly v8), from the outside in:
/// retry (bounded attempts, full-jitter backoff or <c>Retry-After</c>), a permit of the service's token bucket per
/// attempt, and the attempt's timeout. It sits outside the SigV4 signer, so every attempt is signed afresh (new
/// <c>x-amz-date</c>, current credentials), and outside <see cref="ResponseBufferingHandler"/>, so a body that stalls
/// half way counts against the attempt's timeout too.
/// </summary>
internal static class AwsResiliencePipeline
{
    /// <summary>
    /// Marks a request that must not run twice (SubmitJob: Batch has no idempotency token). It is retried only
    /// when the service certainly did not act on it: throttled (429 or a throttling code) or the connection was
    /// never made. A 5xx, a timeout or a connection dropped after sending is reported at once instead; the
    /// reconciler then finds the job by name in its next pass if Batch did create it.
    /// </summary>
    public static readonly HttpRequestOptionsKey<bool> NotIdempotent = new("Batchkeeper.NotIdempotent");

    /// <summary>How many attempts the pipeline made, for the client's error message once it gave up.</summary>
    public static readonly HttpRequestOptionsKey<int> AttemptsMade = new("Batchkeeper.AttemptsMade");

    /// <summary>The operation a request is (e.g. <c>SubmitJob</c>), for <c>batchkeeper_backend_requests_total</c>.</summary>
    public static readonly HttpRequestOptionsKey<string> Operation = new("Batchkeeper.Operation");

    /// <summary>Adds the strategies of <paramref name="policy"/> to <paramref name="pipeline"/>, timed by <paramref name="clock"/>.</summary>
    /// <param name="logger">Where the retry and giving-up lines go; they carry the caller's logging scope (the pass's).</param>
    /// <param name="requests">Where every attempt's outcome is counted (the retry rules see each one); none in the CLI.</param>
    public static void Configure(
        ResiliencePipelineBuilder<HttpResponseMessage> pipeline, AwsResiliencePolicy policy, TimeProvider clock, ILogger logger, BackendRequests? requests = null)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(policy);
        pipeline.TimeProvider = clock;
        pipeline
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                // At least one retry is all Polly accepts; ShouldHandle below stops at MaxAttempts (1 included) itself.
                MaxRetryAttempts = Math.Max(1, policy.MaxAttempts - 1),
                ShouldHandle = args =>
                {
                    // Asked of every attempt's outcome, the last one's too: the one place that sees each attempt once.
                    if (requests is not null && OutcomeOf(args.Outcome) is { } outcome)
                    {
                        var request = args.Context.GetRequestMessage();
                        var operation = request is not null && request.Options.TryGetValue(Operation, out var name) ? name : "unknown";
                        requests.Record(policy.ServiceName, operation, outcome);
                    }

                    return ValueTask.FromResult(ShouldRetry(args.Outcome, args.AttemptNumber + 1, args.Context, policy, logger));
                },
                // Polly's own jitter is decorrelated around the exponential curve; the AWS SDKs' rule (and this project's,
                // see AwsOptions.RetryBaseDelay) is full jitter, uniform below the curve, which spreads throttled clients
                // the most: Polly has no option for it, so the delay is ours, Polly only waits it on the clock.
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(policy.RetryDelay(args.AttemptNumber + 1, args.Outcome.Result, clock)),
                OnRetry = args =>
                {
                    var request = args.Context.GetRequestMessage();
                    AwsLog.Retrying(logger, policy.ServiceName, request?.Method.Method ?? "", PathOf(request), args.AttemptNumber + 1, policy.MaxAttempts,
                        policy.Failure(args.Outcome, notIdempotent: false)?.Reason ?? "", (long)args.RetryDelay.TotalMilliseconds);
                    return default;
                },
            })
            .AddRateLimiter(policy.Limiter)
            .AddTimeout(policy.AttemptTimeout);
    }

    /// <summary>
    /// The <see cref="BackendOutcomes"/> label of an attempt's outcome; null for an attempt that never went out (the
    /// caller's cancellation, a permit refused by the rate limiter).
    /// </summary>
    internal static string? OutcomeOf(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Result: { } response } => BackendOutcomes.Of((int)response.StatusCode, AwsResiliencePolicy.IsThrottled(response)),
        { Exception: TimeoutRejectedException } => BackendOutcomes.Timeout,
        { Exception: OperationCanceledException or RateLimiterRejectedException } => null,
        _ => BackendOutcomes.Network,
    };

    private static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, int attempt, ResilienceContext context, AwsResiliencePolicy policy, ILogger logger)
    {
        var request = context.GetRequestMessage();
        request?.Options.Set(AttemptsMade, attempt);
        var notIdempotent = request is not null && request.Options.TryGetValue(NotIdempotent, out var flag) && flag;
        if (context.CancellationToken.IsCancellationRequested || policy.Failure(outcome, notIdempotent) is not { } failure)
        {
            return false;
        }

        if (attempt >= policy.MaxAttempts || !failure.Repeatable)
        {
            AwsLog.GivingUp(logger, policy.ServiceName, request?.Method.Method ?? "", PathOf(request), attempt, failure.Reason);
            return false;
        }

        return true;
    }

    // Only the path reaches logs: a query string could carry a presigned signature.
    private static string PathOf(HttpRequestMessage? request) => request?.RequestUri?.AbsolutePath ?? "";
}

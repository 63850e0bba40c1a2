using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Batchkeeper.Daemon.Aws;

/// <summary>
/// Sends each request through its service's <see cref="AwsResiliencePolicy"/>: one rate permit per attempt,
/// a per-attempt timeout, and retries with jittered backoff on throttling, 5xx, timeouts and dropped
/// connections. It must sit outside the signing handler so every attempt is signed afresh (new
/// <c>x-amz-date</c>, current credentials).
/// </summary>
/// <remarks>
/// The response body is read inside the attempt, so a response that stalls half way counts against the
/// attempt's timeout too. That suits AWS JSON APIs (small bodies); do not put streaming downloads through it.
/// After the last attempt the final response is returned as it is (the caller turns it into an error) or
/// the final transport exception is thrown; a timed-out last attempt becomes a <see cref="TimeoutException"/>.
/// </remarks>
internal sealed class AwsResilienceHandler : DelegatingHandler
{
    /// <summary>
    /// Marks a request that must not run twice (SubmitJob: Batch has no idempotency token). It is retried only
    /// when the service certainly did not act on it: throttled (429 or a throttling code) or the connection was
    /// never made. A 5xx, a timeout or a connection dropped after sending is reported at once instead; the
    /// reconciler then finds the job by name in its next pass if Batch did create it.
    /// </summary>
    public static readonly HttpRequestOptionsKey<bool> NotIdempotent = new("Batchkeeper.NotIdempotent");

    private readonly AwsResiliencePolicy _policy;
    private readonly ILogger _logger;

    public AwsResilienceHandler(AwsResiliencePolicy policy, ILogger? logger = null)
    {
        _policy = policy ?? throw new ArgumentNullException(nameof(policy));
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Called when the service rejects the credentials as expired or unknown (the request is not retried).</summary>
    public Action? CredentialsRejected { get; init; }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Content is not null)
        {
            // The same message is sent again on retry: make sure its body can be read more than once.
            await request.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        }

        // Only the path reaches logs: a query string could carry a presigned signature.
        var path = request.RequestUri?.AbsolutePath ?? "";
        var notIdempotent = request.Options.TryGetValue(NotIdempotent, out var flag) && flag;
        for (var attempt = 1; ; attempt++)
        {
            await _policy.WaitForPermitAsync(cancellationToken).ConfigureAwait(false);

            string failure;
            using (var attemptTimeout = new CancellationTokenSource(_policy.AttemptTimeout, _policy.TimeProvider))
            using (var attemptToken = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, attemptTimeout.Token))
            {
                var lastAttempt = attempt >= _policy.MaxAttempts;
                var mayRepeat = !notIdempotent;
                HttpResponseMessage? response = null;
                try
                {
                    response = await base.SendAsync(request, attemptToken.Token).ConfigureAwait(false);
                    await response.Content.LoadIntoBufferAsync(attemptToken.Token).ConfigureAwait(false);
                    var reason = AwsResiliencePolicy.RetryReason(response);
                    if (reason is null)
                    {
                        if (AwsResiliencePolicy.RejectsCredentials(response))
                        {
                            CredentialsRejected?.Invoke();
                        }

                        return response;
                    }

                    if (lastAttempt || (notIdempotent && !AwsResiliencePolicy.IsThrottled(response)))
                    {
                        AwsLog.GivingUp(_logger, _policy.ServiceName, request.Method.Method, path, attempt, reason);
                        return response;
                    }

                    response.Dispose();
                    failure = reason;
                }
                catch (OperationCanceledException e) when (attemptTimeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    response?.Dispose();
                    failure = $"no complete response within {_policy.AttemptTimeout.TotalSeconds:0.###} s";
                    if (lastAttempt || !mayRepeat)
                    {
                        AwsLog.GivingUp(_logger, _policy.ServiceName, request.Method.Method, path, attempt, failure);
                        throw new TimeoutException(
                            $"AWS {_policy.ServiceName} request {request.Method} {path} got no complete response within " +
                            $"{_policy.AttemptTimeout.TotalSeconds:0.###} s on each of {attempt} attempts.",
                            e);
                    }
                }
                catch (Exception e) when (AwsResiliencePolicy.IsTransient(e) && !cancellationToken.IsCancellationRequested)
                {
                    response?.Dispose();
                    failure = $"{e.GetType().Name}: {e.Message}";
                    if (lastAttempt || (notIdempotent && !AwsResiliencePolicy.NeverSent(e)))
                    {
                        AwsLog.GivingUp(_logger, _policy.ServiceName, request.Method.Method, path, attempt, failure);
                        // "Connection refused (127.0.0.1:443)" alone does not say which service: name it, keep the kind.
                        throw new HttpRequestException(
                            (e as HttpRequestException)?.HttpRequestError ?? HttpRequestError.Unknown,
                            $"AWS {_policy.ServiceName} {request.Method} {path} failed after {attempt} attempts: {e.Message}",
                            e);
                    }
                }
            }

            var delay = _policy.BackoffDelay(attempt);
            AwsLog.Retrying(_logger, _policy.ServiceName, request.Method.Method, path, attempt, _policy.MaxAttempts, failure, (long)delay.TotalMilliseconds);
            await Task.Delay(delay, _policy.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }
}

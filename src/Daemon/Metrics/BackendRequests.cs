namespace Batchkeeper.Daemon.Metrics;

/// <summary>
/// Where every HTTP attempt to AWS is counted, once, by the code each attempt passes through: the retry rules of the
/// Batch and CloudWatch Logs clients (<see cref="Aws.AwsResiliencePipeline"/>) and the S3 client's HTTP handler
/// (<see cref="Aws.RateLimitedHttpClientFactory"/>). Into <c>batchkeeper_backend_requests_total</c> and the status page's
/// requests per minute (<see cref="RequestRates"/>). Counters only: an attempt never waits for its count.
/// </summary>
public sealed class BackendRequests(DaemonMetrics metrics, RequestRates rates)
{
    /// <summary>One attempt of <paramref name="operation"/> on <paramref name="service"/> (<c>batch</c>, <c>logs</c>, <c>s3</c>).</summary>
    public void Record(string service, string operation, string outcome)
    {
        metrics.Request(service, operation, outcome);
        rates.Record(service, outcome == BackendOutcomes.Throttled);
    }
}

/// <summary>The <c>outcome</c> label of <c>batchkeeper_backend_requests_total</c>.</summary>
public static class BackendOutcomes
{
    /// <summary>Answered as asked (2xx, 3xx; for S3 also a HeadObject's 404, which answers "does it exist").</summary>
    public const string Ok = "ok";

    /// <summary>Refused for its rate: 429 or a throttling error code (S3: 503 SlowDown).</summary>
    public const string Throttled = "throttled";

    /// <summary>Any other 4xx: the request or the credentials are wrong.</summary>
    public const string ClientError = "client_error";

    public const string ServerError = "server_error";

    /// <summary>No complete answer within the attempt's timeout.</summary>
    public const string Timeout = "timeout";

    /// <summary>No answer at all: connection refused or dropped, name resolution, TLS.</summary>
    public const string Network = "network";

    /// <summary>The outcome of an HTTP answer; <paramref name="throttled"/> when its error code says so whatever the status.</summary>
    public static string Of(int status, bool throttled) => status switch
    {
        _ when throttled || status == 429 => Throttled,
        < 400 => Ok,
        < 500 => ClientError,
        _ => ServerError,
    };
}

using Batchkeeper.Daemon.Aws;

namespace Batchkeeper.Daemon.Tests.Aws;

public sealed class AwsBackoffTests
{
    private static AwsResiliencePolicy Policy(Func<double> random) => new(
        "test",
        new AwsOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(100), RetryMaxDelay = TimeSpan.FromSeconds(1) },
        random: random);

    [Fact]
    public void Ceiling_DoublesFromTheBaseDelay_AndIsCappedAtTheMaxDelay()
    {
        using var policy = Policy(() => 0.5);

        var ceilings = Enumerable.Range(1, 7).Select(n => policy.BackoffCeiling(n).TotalMilliseconds);

        Assert.Equal([100, 200, 400, 800, 1000, 1000, 1000], ceilings);
        Assert.Equal(TimeSpan.FromSeconds(1), policy.BackoffCeiling(10_000));
    }

    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(0.25, 100)]
    [InlineData(0.999999, 399.9996)]
    public void Delay_IsTheRandomFractionOfTheCeiling(double draw, double expectedMilliseconds)
    {
        using var policy = Policy(() => draw);

        Assert.Equal(expectedMilliseconds, policy.BackoffDelay(3).TotalMilliseconds, precision: 3);
    }

    [Fact]
    public void Delays_SpreadOverTheWholeRange_AndNeverLeaveIt()
    {
        var random = new Random(20261122);
        using var policy = Policy(random.NextDouble);

        for (var attempt = 1; attempt <= 6; attempt++)
        {
            var ceiling = policy.BackoffCeiling(attempt);
            var delays = Enumerable.Range(0, 2000).Select(_ => policy.BackoffDelay(attempt)).ToList();

            Assert.All(delays, d => Assert.InRange(d, TimeSpan.Zero, ceiling));
            // Full jitter: the draws cover the range, not a band near the ceiling.
            Assert.True(delays.Min() < ceiling * 0.05, $"attempt {attempt}: smallest {delays.Min()} of {ceiling}");
            Assert.True(delays.Max() > ceiling * 0.95, $"attempt {attempt}: largest {delays.Max()} of {ceiling}");
        }
    }

    [Theory]
    [InlineData(429, null, true)]
    [InlineData(500, "ServerException", true)]
    [InlineData(502, null, true)]
    [InlineData(503, null, true)]
    [InlineData(504, null, true)]
    [InlineData(400, "TooManyRequestsException", true)]
    [InlineData(400, "ThrottlingException", true)]
    [InlineData(400, "ClientException", false)]
    [InlineData(403, null, false)]
    [InlineData(501, null, false)]
    [InlineData(200, null, false)]
    public void RetryReason_CoversThrottlingAndTransientServerErrorsOnly(int status, string? code, bool retried)
    {
        using var response = new HttpResponseMessage((System.Net.HttpStatusCode)status);
        if (code is not null)
        {
            response.Headers.TryAddWithoutValidation("x-amzn-ErrorType", code + ":http://internal.amazon.com/");
        }

        Assert.Equal(retried, AwsResiliencePolicy.RetryReason(response) is not null);
    }

    [Theory]
    [InlineData("""{"__type":"ThrottlingException","message":"Rate exceeded"}""", true)]
    [InlineData("""{"__type":"com.amazonaws.logs#ThrottlingException","message":"Rate exceeded"}""", true)]
    [InlineData("""{"__type":"ResourceNotFoundException","message":"The specified log stream does not exist."}""", false)]
    [InlineData("not json", false)]
    public void RetryReason_ReadsTheCodeFromAJson11BodyWhenNoHeaderCarriesIt(string body, bool retried)
    {
        // CloudWatch Logs (JSON 1.1) may name the error only in the body's __type.
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.BadRequest) { Content = new StringContent(body) };

        Assert.Equal(retried, AwsResiliencePolicy.RetryReason(response) is not null);
        Assert.Equal(retried, AwsResiliencePolicy.IsThrottled(response));
    }

    [Fact]
    public void TransientExceptions_AreConnectionFailuresButNotTlsFailures()
    {
        Assert.True(AwsResiliencePolicy.IsTransient(new HttpRequestException("reset", new IOException("reset"))));
        Assert.True(AwsResiliencePolicy.IsTransient(new IOException("broken pipe")));
        Assert.False(AwsResiliencePolicy.IsTransient(new HttpRequestException(HttpRequestError.SecureConnectionError, "bad certificate")));
        Assert.False(AwsResiliencePolicy.IsTransient(new InvalidOperationException()));
    }
}

using Batchkeeper.Core.Passes;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Aws;
using Batchkeeper.Daemon.Metrics;
using Polly;
using Polly.Timeout;

namespace Batchkeeper.Daemon.Tests.Metrics;

/// <summary>The rules that turn transitions and HTTP attempts into counts, case by case.</summary>
public sealed class MetricsRulesTests
{
    private static SlotTransition Transition(SlotState? from, SlotState to, string? job, FailureClass? failure) => new("s1", "align", from, to, job, failure, null);

    [Theory]
    [InlineData(SlotState.Running, SlotState.Retrying, null, FailureClass.Failed, "failed")] // the job failed, a retry later
    [InlineData(SlotState.Running, SlotState.FailedPermanently, null, FailureClass.OutOfMemory, "out_of_memory")] // at max memory
    [InlineData(SlotState.Running, SlotState.Queued, "job-2", FailureClass.Interrupted, "interrupted")] // resubmitted at once
    [InlineData(SlotState.Queued, SlotState.Queued, "job-2", FailureClass.Interrupted, "interrupted")] // lost while queued, resubmitted
    [InlineData(SlotState.Verifying, SlotState.Retrying, null, FailureClass.SucceededWithoutOutputs, "succeeded_without_outputs")]
    [InlineData(SlotState.Queued, SlotState.Waiting, null, FailureClass.Blocked, "blocked")] // the job it depended on failed
    [InlineData(SlotState.Running, SlotState.Cancelled, null, FailureClass.Cancelled, "cancelled")]
    [InlineData(SlotState.Waiting, SlotState.FailedPermanently, null, FailureClass.Misconfigured, "misconfigured")] // submission refused
    [InlineData(null, SlotState.FailedPermanently, null, FailureClass.Misconfigured, "misconfigured")] // refused in the first pass
    [InlineData(SlotState.Queued, SlotState.Running, "job-2", FailureClass.Interrupted, null)] // the class is the earlier attempt's
    [InlineData(SlotState.Retrying, SlotState.Queued, "job-2", FailureClass.Failed, null)] // the retry itself, already counted
    [InlineData(SlotState.Running, SlotState.Complete, null, null, null)]
    [InlineData(SlotState.Running, SlotState.Complete, "job-1", FailureClass.Failed, null)] // its outputs exist: complete after all
    [InlineData(SlotState.FailedPermanently, SlotState.Waiting, null, null, null)] // a retry request
    [InlineData(SlotState.Waiting, SlotState.Queued, "job-1", null, null)]
    public void AFailedAttempt_IsAJobThatEndedWithoutCompletingItsSlot_OrASubmissionRefused(SlotState? from, SlotState to, string? job, FailureClass? failure, string? counted) =>
        Assert.Equal(counted, MetricsFeed.FailedAttempt(Transition(from, to, job, failure))?.ToWire());

    [Theory]
    [InlineData(SlotState.Waiting, SlotState.Queued, "job-1", true)]
    [InlineData(SlotState.Retrying, SlotState.Queued, "job-2", true)]
    [InlineData(SlotState.Running, SlotState.Queued, "job-2", true)]
    [InlineData(null, SlotState.Queued, "job-1", true)]
    [InlineData(SlotState.Queued, SlotState.Running, "job-1", false)]
    [InlineData(SlotState.Running, SlotState.Retrying, null, false)]
    [InlineData(SlotState.Waiting, SlotState.Complete, null, false)] // outputs already there: nothing submitted
    public void ASubmission_IsASlotGivenANewJobInTheQueue(SlotState? from, SlotState to, string? job, bool submission) =>
        Assert.Equal(submission, MetricsFeed.IsSubmission(Transition(from, to, job, null)));

    [Theory]
    [InlineData(200, false, "ok")]
    [InlineData(304, false, "ok")]
    [InlineData(429, false, "throttled")]
    [InlineData(400, true, "throttled")] // ThrottlingException with a 400
    [InlineData(400, false, "client_error")]
    [InlineData(403, false, "client_error")]
    [InlineData(500, false, "server_error")]
    [InlineData(503, false, "server_error")]
    public void AnAnswersOutcome_IsByItsStatus_ThrottlingFirst(int status, bool throttlingCode, string outcome) =>
        Assert.Equal(outcome, BackendOutcomes.Of(status, throttlingCode));

    [Fact]
    public void AnAttemptWithoutAnAnswer_IsATimeoutOrANetworkFailure_AndOneNeverSentIsNotCounted()
    {
        Assert.Equal(BackendOutcomes.Timeout, AwsResiliencePipeline.OutcomeOf(Outcome.FromException<HttpResponseMessage>(new TimeoutRejectedException())));
        Assert.Equal(BackendOutcomes.Network, AwsResiliencePipeline.OutcomeOf(Outcome.FromException<HttpResponseMessage>(new HttpRequestException("Connection refused"))));
        Assert.Equal(BackendOutcomes.Network, AwsResiliencePipeline.OutcomeOf(Outcome.FromException<HttpResponseMessage>(new IOException("reset"))));
        Assert.Null(AwsResiliencePipeline.OutcomeOf(Outcome.FromException<HttpResponseMessage>(new OperationCanceledException())));
        using var throttled = new HttpResponseMessage(System.Net.HttpStatusCode.BadRequest) { Content = new StringContent("") };
        throttled.Headers.Add("x-amzn-ErrorType", "ThrottlingException");
        Assert.Equal(BackendOutcomes.Throttled, AwsResiliencePipeline.OutcomeOf(Outcome.FromResult(throttled)));
    }

    [Theory]
    [InlineData("HEAD", "http://s3/results/lab/a.bam", "HeadObject")]
    [InlineData("GET", "http://s3/results?list-type=2&prefix=lab%2F", "ListObjectsV2")]
    [InlineData("GET", "http://s3/results/lab/a.bam", "GetObject")]
    [InlineData("PUT", "http://s3/results/lab/a.bam", "PutObject")]
    public void AnS3Request_IsNamedByItsMethodAndQuery(string method, string uri, string operation) =>
        Assert.Equal(operation, RateLimitedHttpClientFactory.OperationOf(new HttpRequestMessage(new HttpMethod(method), uri)));
}

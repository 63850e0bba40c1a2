using Batchkeeper.Daemon.Aws.JobStates;

namespace Batchkeeper.Daemon.Tests.Aws.JobStates;

/// <summary>The adaptive polling rule: ListJobs by status when it costs fewer requests than DescribeJobs of our active jobs.</summary>
public sealed class PollingCostTests
{
    private static QueuePolling.Population Seen(int submitted, int pending, int runnable, int starting, int running) => new(
        new Dictionary<string, int> { ["SUBMITTED"] = submitted, ["PENDING"] = pending, ["RUNNABLE"] = runnable, ["STARTING"] = starting, ["RUNNING"] = running },
        Pages: 0, Complete: true);

    [Fact]
    public void AQueueOfOurOwn_AtTheGoalSize_IsListed_InEightRequestsInsteadOf45()
    {
        var seen = Seen(0, 3_000, 0, 0, 1_500);
        Assert.Equal(8, seen.Cost);
        Assert.Equal(45, QueuePolling.DescribeCost(4_500));
        Assert.True(QueuePolling.ListingIsCheaper(seen, 4_500));
    }

    [Fact]
    public void AQueueSharedWithAnInstitute_StaysOnDescribeJobs()
    {
        var crowded = Seen(500, 3_000 + 20_000, 4_000, 500, 1_500 + 30_000);
        Assert.True(crowded.Cost > QueuePolling.DescribeCost(4_500));
        Assert.False(QueuePolling.ListingIsCheaper(crowded, 4_500));
    }

    [Fact]
    public void FewJobs_AreDescribed_ForAListingCostsARequestPerActiveStatusAtLeast()
    {
        Assert.Equal(5, Seen(0, 0, 0, 0, 0).Cost);
        Assert.False(QueuePolling.ListingIsCheaper(Seen(0, 0, 0, 0, 500), 500));
        Assert.True(QueuePolling.ListingIsCheaper(Seen(0, 0, 0, 0, 501), 501));
        Assert.Null(QueuePolling.ListingIsCheaper(null, 10_000));
    }

    [Fact]
    public void AListingStoppedForCost_CountsAsAtLeastWhatItTook()
    {
        var stopped = new QueuePolling.Population(new Dictionary<string, int> { ["SUBMITTED"] = 0, ["PENDING"] = 0, ["RUNNABLE"] = 0, ["STARTING"] = 0, ["RUNNING"] = 2_000 }, Pages: 6, Complete: false);
        Assert.Equal(6, stopped.Cost);
        Assert.False(QueuePolling.ListingIsCheaper(stopped, 600));
    }
}

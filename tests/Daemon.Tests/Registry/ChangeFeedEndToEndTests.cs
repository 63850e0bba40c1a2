using Batchkeeper.Core.Passes;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Registry;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Batchkeeper.Daemon.Tests.Registry;

/// <summary>The change feed of the real daemon, on the local backend: real files, real processes.</summary>
public sealed class ChangeFeedEndToEndTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task ASubscriber_SeesEachTransitionOfALocalRun_ExactlyOnce_InOrder_BetweenAddedAndRemoved()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        var feed = daemon.Host.Services.GetRequiredService<IWorkflowChanges>();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var reader = feed.Subscribe(deadline.Token);

        Demo.CreateProject(daemon.Projects, "study", ("a", 2), ("b", 3));
        var workflow = daemon.WorkflowPath("study", "wordcount.json");
        Demo.Drop(workflow, Demo.Workflow);

        // Read until a pass reports every slot complete (no job left to end and trigger another transition).
        var seen = new List<WorkflowChange>();
        PassCompleted? last = null;
        while (last is null || last.Snapshot.Summary.Complete != 4)
        {
            var change = await reader.ReadAsync(deadline.Token);
            if (change.Path == workflow)
            {
                seen.Add(change);
                last = change as PassCompleted ?? last;
            }
        }

        Assert.IsType<WorkflowAdded>(seen[0]);
        Assert.Equal(1, seen.Count(c => c is WorkflowAdded));
        Assert.True(seen.Zip(seen.Skip(1)).All(p => p.First.Sequence < p.Second.Sequence), "changes come in publication order");

        // Per slot, each transition starts where the one before ended: a transition seen twice, or one missed,
        // breaks the chain. The first comes from nothing (a new slot) and the last is where the run ended.
        var transitions = seen.OfType<PassCompleted>().SelectMany(p => p.Transitions).ToList();
        foreach (var slot in last.Snapshot.Slots)
        {
            var own = transitions.Where(t => t.Sample == slot.Sample && t.Analysis == slot.Analysis).ToList();
            Assert.NotEmpty(own);
            Assert.Null(own[0].From);
            foreach (var (before, after) in own.Zip(own.Skip(1)))
            {
                Assert.Equal(before.To, after.From);
                Assert.True(before.To != after.To || before.JobId != after.JobId, $"{slot.Sample}/{slot.Analysis}: {before} repeated as {after}");
            }

            Assert.Equal(SlotState.Complete, own[^1].To);
            Assert.Equal(1, own.Count(t => t.To == SlotState.Complete));
            Assert.Equal(slot.JobId, own[^1].JobId);
            Assert.Contains(own, t => t.JobId is not null && t.To is SlotState.Queued or SlotState.Running);
        }

        // The workflow's removal ends its story; a pass still in flight publishes nothing after it.
        File.Delete(workflow);
        WorkflowChange next;
        do
        {
            next = await reader.ReadAsync(deadline.Token);
        }
        while (next.Path != workflow || next is PassCompleted);

        Assert.IsType<WorkflowRemoved>(next);
        Assert.DoesNotContain(feed.Snapshots, s => s.File == "wordcount.json");
    }
}

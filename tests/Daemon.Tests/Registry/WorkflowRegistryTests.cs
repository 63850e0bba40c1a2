using System.Threading.Channels;
using Batchkeeper.Core.Passes;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Registry;

namespace Batchkeeper.Daemon.Tests.Registry;

/// <summary>The registry of managed workflows and its change feed, in memory.</summary>
public sealed class WorkflowRegistryTests
{
    private const string A = "/projects/study/a.json";
    private const string B = "/projects/study/b.json";

    private static WorkflowSnapshot Snapshot(string file, params (string Sample, SlotState State)[] slots) => new()
    {
        Project = "study",
        File = file,
        Slots = [.. slots.Select(s => new SlotRecord { Sample = s.Sample, Analysis = "count", State = s.State })],
    };

    private static List<WorkflowChange> Drain(ChannelReader<WorkflowChange> reader)
    {
        var changes = new List<WorkflowChange>();
        while (reader.TryRead(out var change))
        {
            changes.Add(change);
        }

        return changes;
    }

    [Fact]
    public void Add_IsTrueOnlyTheFirstTime_AndPublishesOneWorkflowAdded()
    {
        var registry = new WorkflowRegistry();
        var feed = registry.Subscribe(CancellationToken.None);

        Assert.True(registry.Add(A));
        Assert.False(registry.Add(A));

        var added = Assert.IsType<WorkflowAdded>(Assert.Single(Drain(feed)));
        Assert.Equal(A, added.Path);
        Assert.Equal(1, added.Sequence);
        Assert.True(registry.IsManaged(A));
        Assert.Equal([A], registry.Paths);
    }

    [Fact]
    public void Remove_IsTrueOnlyForAManagedWorkflow_AndForgetsItsMemoryAndSnapshot()
    {
        var registry = new WorkflowRegistry();
        registry.Add(A);
        var managed = registry.Get(A)!;
        managed.Memory<List<string>>().Add("remembered");
        registry.Publish(managed, Snapshot("a.json", ("s1", SlotState.Running)), []);
        var feed = registry.Subscribe(CancellationToken.None);
        Drain(feed);

        Assert.True(registry.Remove(A));
        Assert.False(registry.Remove(A));
        Assert.False(registry.Remove(B));

        Assert.IsType<WorkflowRemoved>(Assert.Single(Drain(feed)));
        Assert.Null(registry.Get(A));
        Assert.Empty(registry.Snapshots);
        Assert.True(registry.Add(A));
        Assert.Empty(registry.Get(A)!.Memory<List<string>>());
    }

    [Fact]
    public void Memory_IsMadeOnce_AndTheSameObjectOnEveryCall()
    {
        var registry = new WorkflowRegistry();
        registry.Add(A);
        var managed = registry.Get(A)!;

        var first = managed.Memory<List<string>>();
        first.Add("x");

        Assert.Same(first, managed.Memory<List<string>>());
        Assert.Same(first, registry.Get(A)!.Memory<List<string>>());
    }

    [Fact]
    public void Publish_SendsTheSnapshotAndTransitions_AndKeepsTheSnapshotAsTheWorkflowsLast()
    {
        var registry = new WorkflowRegistry();
        registry.Add(A);
        var feed = registry.Subscribe(CancellationToken.None);
        Drain(feed);
        var snapshot = Snapshot("a.json", ("s1", SlotState.Queued));
        SlotTransition[] transitions = [new("s1", "count", null, SlotState.Queued, "job-1", null, null)];

        Assert.True(registry.Publish(registry.Get(A)!, snapshot, transitions));

        var pass = Assert.IsType<PassCompleted>(Assert.Single(Drain(feed)));
        Assert.Same(snapshot, pass.Snapshot);
        Assert.Equal(transitions, pass.Transitions);
        Assert.Equal(2, pass.Sequence);
        Assert.Same(snapshot, Assert.Single(registry.Snapshots));
        Assert.Equal([A], registry.PathsWhere(s => s.Slots.Any(slot => slot.State == SlotState.Queued)));
        Assert.Empty(registry.PathsWhere(s => s.Slots.Any(slot => slot.State == SlotState.Running)));
    }

    [Fact]
    public void Publish_AfterRemove_IsDropped_EvenWhenTheFileWasAddedAgain()
    {
        var registry = new WorkflowRegistry();
        registry.Add(A);
        var old = registry.Get(A)!;
        registry.Remove(A);
        var feed = registry.Subscribe(CancellationToken.None);

        Assert.False(registry.Publish(old, Snapshot("a.json"), []));
        registry.Add(A);
        Assert.False(registry.Publish(old, Snapshot("a.json"), []));

        Assert.IsType<WorkflowAdded>(Assert.Single(Drain(feed)));
        Assert.Empty(registry.Snapshots);
    }

    [Fact]
    public void Subscribe_ReplaysAddedAndTheLastPassOfEachManagedWorkflow_InSequenceOrder_ThenWhatFollows()
    {
        var registry = new WorkflowRegistry();
        registry.Add(A);
        registry.Add(B);
        registry.Publish(registry.Get(A)!, Snapshot("a.json", ("s1", SlotState.Queued)), []);
        var last = Snapshot("a.json", ("s1", SlotState.Running));
        registry.Publish(registry.Get(A)!, last, []);
        registry.Add("/projects/study/gone.json");
        registry.Remove("/projects/study/gone.json");

        var feed = registry.Subscribe(CancellationToken.None);
        registry.Remove(B);

        var changes = Drain(feed);
        Assert.Equal(
            ["Added a.json 1", "Added b.json 2", "Pass a.json 4", "Removed b.json 7"],
            changes.Select(c => $"{c.GetType().Name.Replace("Workflow", "", StringComparison.Ordinal).Replace("Completed", "", StringComparison.Ordinal)} {Path.GetFileName(c.Path)} {c.Sequence}"));
        Assert.Same(last, ((PassCompleted)changes[2]).Snapshot);
    }

    [Fact]
    public void ASubscriberThatNeverReads_HoldsUpNeitherThePublisherNorTheOtherSubscribers()
    {
        var registry = new WorkflowRegistry();
        _ = registry.Subscribe(CancellationToken.None); // never read
        var reader = registry.Subscribe(CancellationToken.None);
        registry.Add(A);
        var managed = registry.Get(A)!;

        // Synchronous and never waiting: all of these return, whatever the idle subscriber does.
        for (var i = 0; i < 10_000; i++)
        {
            Assert.True(registry.Publish(managed, Snapshot("a.json"), []));
        }

        var changes = Drain(reader);
        Assert.Equal(10_001, changes.Count);
        Assert.Equal(Enumerable.Range(1, 10_001).Select(i => (long)i), changes.Select(c => c.Sequence));
    }

    [Fact]
    public async Task Unsubscribing_CompletesTheReader_AndItGetsNothingMore()
    {
        var registry = new WorkflowRegistry();
        using var unsubscribe = new CancellationTokenSource();
        var reader = registry.Subscribe(unsubscribe.Token);
        registry.Add(A);

        await unsubscribe.CancelAsync();
        registry.Add(B);

        Assert.Equal([A], Drain(reader).Select(c => c.Path));
        await reader.Completion.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task ConcurrentPublishers_EverySubscriberSeesOneOrder_NumberedWithoutGaps_AddedFirstAndRemovedLast()
    {
        var registry = new WorkflowRegistry();
        var first = registry.Subscribe(CancellationToken.None);
        var second = registry.Subscribe(CancellationToken.None);
        var paths = Enumerable.Range(0, 8).Select(i => $"/projects/study/w{i}.json").ToArray();

        await Task.WhenAll(paths.Select(path => Task.Run(() =>
        {
            registry.Add(path);
            var managed = registry.Get(path)!;
            for (var i = 0; i < 500; i++)
            {
                registry.Publish(managed, Snapshot(Path.GetFileName(path)), []);
            }

            registry.Remove(path);
        })));

        var one = Drain(first);
        var two = Drain(second);
        Assert.Equal(one, two);
        Assert.Equal(Enumerable.Range(1, paths.Length * 502).Select(i => (long)i), one.Select(c => c.Sequence));
        foreach (var path in paths)
        {
            var own = one.Where(c => c.Path == path).ToList();
            Assert.IsType<WorkflowAdded>(own[0]);
            Assert.IsType<WorkflowRemoved>(own[^1]);
            Assert.Equal(500, own.Count(c => c is PassCompleted));
        }
    }
}

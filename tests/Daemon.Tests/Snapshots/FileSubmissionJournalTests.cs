using Batchkeeper.Core.Planning;
using Batchkeeper.Daemon.Snapshots;
using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Snapshots;

public sealed class FileSubmissionJournalTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private WorkflowLocation Workflow => new("study", "align.json", _folder.Path);

    private static HashSet<string> Names(params string[] names) => new(names, StringComparer.Ordinal);

    [Fact]
    public async Task Announcement_IsOnDiskForTheNextDaemon_UntilCleared()
    {
        var journal = new FileSubmissionJournal();
        await journal.AnnounceAsync(Workflow, ["bk-align-bwa-s1-0123456789"], CancellationToken.None);

        Assert.True(File.Exists(_folder.Combine(".align.submitting.json")));
        Assert.True(await journal.MayHaveSubmittedAsync(Workflow, Names("bk-align-bwa-s1-0123456789"), CancellationToken.None));
        Assert.False(await journal.MayHaveSubmittedAsync(Workflow, Names("bk-align-bwa-s2-0123456789"), CancellationToken.None));

        // A daemon started after a crash reads it back.
        var restarted = new FileSubmissionJournal();
        Assert.True(await restarted.MayHaveSubmittedAsync(Workflow, Names("bk-align-bwa-s1-0123456789"), CancellationToken.None));

        await restarted.ClearAsync(Workflow, CancellationToken.None);
        Assert.False(File.Exists(_folder.Combine(".align.submitting.json")));
        Assert.False(await new FileSubmissionJournal().MayHaveSubmittedAsync(Workflow, Names("bk-align-bwa-s1-0123456789"), CancellationToken.None));
    }

    [Fact]
    public async Task LaterAnnouncement_KeepsTheNamesOfAnEarlierOneNotCleared()
    {
        var journal = new FileSubmissionJournal();
        await journal.AnnounceAsync(Workflow, ["a"], CancellationToken.None);
        await journal.AnnounceAsync(Workflow, ["b"], CancellationToken.None);

        var restarted = new FileSubmissionJournal();
        Assert.True(await restarted.MayHaveSubmittedAsync(Workflow, Names("a"), CancellationToken.None));
        Assert.True(await restarted.MayHaveSubmittedAsync(Workflow, Names("b"), CancellationToken.None));
    }

    [Fact]
    public async Task UnreadableJournal_MightNameAnyJob()
    {
        await File.WriteAllTextAsync(_folder.Combine(".align.submitting.json"), "{ not json");

        Assert.True(await new FileSubmissionJournal().MayHaveSubmittedAsync(Workflow, Names("x"), CancellationToken.None));
    }
}

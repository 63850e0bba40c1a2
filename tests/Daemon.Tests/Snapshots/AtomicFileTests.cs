using System.Text;
using System.Text.Json;
using Batchkeeper.Daemon.Snapshots;
using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Snapshots;

public sealed class AtomicFileTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Readers_NeverSeeAPartialFile_AndNoTempFileIsLeft()
    {
        var path = _folder.Combine("snapshot.json");
        await AtomicFile.WriteAsync(path, Encoding.UTF8.GetBytes("""{"n":0}"""));
        using var stop = new CancellationTokenSource();
        var reads = 0;
        var reading = new TaskCompletionSource();
        var reader = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                // Every read must parse: a half-written file would not.
                using var document = JsonDocument.Parse(File.ReadAllText(path));
                Assert.True(document.RootElement.GetProperty("n").GetInt32() >= 0);
                Interlocked.Increment(ref reads);
                reading.TrySetResult();
            }
        });

        await reading.Task.WaitAsync(TimeSpan.FromSeconds(30));
        for (var n = 1; n <= 200; n++)
        {
            var big = new string('x', 20_000 + n);
            await AtomicFile.WriteAsync(path, Encoding.UTF8.GetBytes($$"""{"n":{{n}},"pad":"{{big}}"}"""));
        }

        await stop.CancelAsync();
        await reader;
        Assert.True(Volatile.Read(ref reads) > 0);
        Assert.Equal(200, JsonDocument.Parse(File.ReadAllText(path)).RootElement.GetProperty("n").GetInt32());
        Assert.Equal("snapshot.json", Path.GetFileName(Assert.Single(Directory.GetFiles(_folder.Path))));
    }

    [Fact]
    public async Task FailedWrite_LeavesThePreviousFileIntact()
    {
        var path = _folder.Combine("snapshot.json");
        await AtomicFile.WriteAsync(path, Encoding.UTF8.GetBytes("previous"));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => AtomicFile.WriteAsync(path, new byte[1_000_000], cancelled.Token));
        Assert.Equal("previous", await File.ReadAllTextAsync(path));
        Assert.Single(Directory.GetFiles(_folder.Path));
    }

    [Fact]
    public void Leftovers_OfInterruptedWrites_AreDeleted_AndNothingElse()
    {
        var path = _folder.Combine("wf.status.json");
        File.WriteAllText(path, "{}");
        string[] leftovers = [$".wf.status.json.{Guid.NewGuid():N}.tmp", $".wf.status.json.{Guid.NewGuid():N}.tmp"];
        // Another file's temp, a person's own .tmp files, and a name that only looks close: all kept.
        string[] kept = [$".other.status.json.{Guid.NewGuid():N}.tmp", "wf.status.json.tmp", ".wf.status.json.notes.tmp", $".wf.status.json.{Guid.NewGuid():N}.tmp.bak"];
        foreach (var name in leftovers.Concat(kept))
        {
            File.WriteAllText(_folder.Combine(name), "half");
        }

        Assert.Equal(2, AtomicFile.DeleteLeftovers(path));

        Assert.All(leftovers, name => Assert.False(File.Exists(_folder.Combine(name)), name));
        Assert.All(kept, name => Assert.True(File.Exists(_folder.Combine(name)), name));
        Assert.Equal("{}", File.ReadAllText(path));
    }
}

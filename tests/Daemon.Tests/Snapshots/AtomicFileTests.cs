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
}

using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Batchkeeper.Daemon.Tests.Security;
using static Batchkeeper.Daemon.Tests.Web.WorkflowApiTests;

namespace Batchkeeper.Daemon.Tests.Web;

/// <summary>
/// The status page's log of a local job whose log file was swapped for a link to a file outside the log folder, or for a
/// FIFO: refused in a sentence that names the file (never its contents), and the page answers the next request.
/// </summary>
public sealed class SlotLogFileTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task LocalLog_SwappedForALinkOutOfTheLogFolderOrAFifo_IsRefusedNamingTheFile_AndThePageAnswersTheNextRequest()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        using var http = await ClientOf(daemon);
        http.Timeout = TimeSpan.FromSeconds(20); // a reader blocked in open() of the FIFO never answers
        var project = Path.Combine(daemon.Projects, "lab");
        WriteMetadata(project, ["a", "b"]);
        var workflow = Path.Combine(project, "talk.json");
        Demo.Drop(workflow, """
            { "workflow_name": "talk", "analyses": [ { "name": "say", "job_definition": "d:1", "queue": "local",
              "command": ["sh", "-c", "echo said {n}; mkdir -p out; touch out/{n}.txt"], "outputs": ["out/{n}.txt"] } ] }
            """);
        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "both jobs complete");
        var log = LogOf(done, "a");
        Assert.StartsWith(Path.Combine(daemon.WorkDirectory, "logs") + "/", log, StringComparison.Ordinal);

        var secret = _folder.Combine("secret.txt");
        File.WriteAllText(secret, "not for the page\n");
        File.Delete(log);
        File.CreateSymbolicLink(log, secret);
        var linked = await GetJsonAsync(http, "/api/workflows/lab/talk/log?sample=a&analysis=say");
        Assert.Equal("none", (string?)linked["source"]);
        Assert.Contains($"{log}: is a link to a file outside the local backend's log folder", (string?)linked["message"], StringComparison.Ordinal);
        Assert.DoesNotContain("not for the page", linked.ToJsonString(), StringComparison.Ordinal);

        File.Delete(log);
        FileKinds.Fifo(log);
        var piped = await GetJsonAsync(http, "/api/workflows/lab/talk/log?sample=a&analysis=say");
        Assert.Equal("none", (string?)piped["source"]);
        Assert.Contains($"{log}: is a FIFO (named pipe), not a regular file", (string?)piped["message"], StringComparison.Ordinal);

        // Nothing is left blocked: the next request, for the other slot's log, is answered with it.
        var other = await GetJsonAsync(http, "/api/workflows/lab/talk/log?sample=b&analysis=say");
        Assert.Equal(("file", "said 2\n"), ((string?)other["source"], (string?)other["text"]));
    }

    internal static string LogOf(WorkflowSnapshot snapshot, string sample)
    {
        var slot = snapshot.Slots.Single(s => s.Sample == sample);
        return slot.LogStream ?? slot.History[^1].LogStream!;
    }
}

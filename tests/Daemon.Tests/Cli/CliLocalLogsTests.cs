using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Batchkeeper.Daemon.Tests.Security;
using Batchkeeper.Daemon.Tests.Web;

namespace Batchkeeper.Daemon.Tests.Cli;

/// <summary><c>logs</c> of local jobs that have not run, or not yet: the real executable beside a real daemon.</summary>
public sealed class CliLocalLogsTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Projects => _folder.Combine("projects");

    /// <summary>The command's configuration names the daemon's work folder (TestDaemon's), whose logs it may read.</summary>
    private Dictionary<string, string> Work => new() { ["Batchkeeper__Local__WorkDirectory"] = _folder.Combine("work") };

    [Fact]
    public async Task Logs_OfAJobThatNeverRanBecauseItsDependencyFailed_SaysSoInASentence()
    {
        var workflow = Path.Combine(Projects, "study", "chain.json");
        await using (var daemon = await TestDaemon.StartAsync(_folder.Path))
        {
            Demo.CreateProject(daemon.Projects, "study", ("a", 1));
            Demo.Drop(workflow, """
                { "workflow_name": "chain", "analyses": [
                  { "name": "one", "job_definition": "d:1", "queue": "local", "retry": { "max_attempts": 1 }, "command": ["sh", "-c", "echo going wrong; exit 5"], "outputs": ["out/{sample_name}.1"] },
                  { "name": "two", "job_definition": "d:1", "queue": "local", "command": ["sh", "-c", "echo two"], "outputs": ["out/{sample_name}.2"] } ] }
                """);
            await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Slots.Any(x => x.State == SlotState.Blocked && x.History.Count == 1), "the second job failed with its dependency");
        }

        var (code, output, error) = await CliRun.RunAsync(_folder.Path, null, null, "--projects", Projects, "logs", workflow, "--sample", "a", "--analysis", "two");

        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Matches(@"^batchkeeper: slot a / two: job [0-9a-f-]+ never ran: its dependency failed \(Dependent Job failed\)$", error.Trim());
    }

    [Fact]
    public async Task LogsFollow_StartedBeforeTheDaemonHasSeenTheWorkflow_WaitsForTheJob_PrintsItsOutput_AndEndsWithIt()
    {
        // The workflow is there, the daemon not yet: no snapshot, no job, no log. The second analysis waits for the first.
        var project = Demo.CreateProject(Projects, "study", ("m1", 1));
        var workflow = Path.Combine(project, "chain.json");
        Demo.Drop(workflow, """
            { "workflow_name": "chain", "analyses": [
              { "name": "one", "job_definition": "d:1", "queue": "local", "command": ["sh", "-c", "echo one > {sample_name}.1"], "outputs": ["{sample_name}.1"] },
              { "name": "two", "job_definition": "d:1", "queue": "local", "command": ["sh", "-c", "echo started; sleep 1; echo finished > {sample_name}.2; echo done"], "outputs": ["{sample_name}.2"] } ] }
            """);
        await using var follow = DaemonProcess.Start(_folder.Path, Work,
            "--projects", Projects, "logs", workflow, "--sample", "m1", "--analysis", "two", "--follow", "--interval", "0.1");
        await Eventually.WaitAsync(() => follow.Stderr.Contains("batchkeeper: waiting for the daemon's first snapshot of chain.json (Ctrl+C to stop)") || follow.HasExited,
            "the command waiting for the daemon");
        Assert.False(follow.HasExited, string.Join('\n', follow.Stderr));

        await using var daemon = await TestDaemon.StartAsync(_folder.Path);

        Assert.Equal(0, await follow.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(["started", "done"], follow.Stdout);
        Assert.DoesNotContain(follow.Stderr, l => l.Contains("no log", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Logs_OfALocalLogSwappedForALinkOutOfTheLogFolderOrAFifo_IsRefusedNamingTheFile_AndEndsAtOnce()
    {
        var workflow = Path.Combine(Projects, "study", "say.json");
        string log;
        await using (var daemon = await TestDaemon.StartAsync(_folder.Path))
        {
            Demo.CreateProject(daemon.Projects, "study", ("a", 1));
            Demo.Drop(workflow, """
                { "workflow_name": "say", "analyses": [ { "name": "one", "job_definition": "d:1", "queue": "local",
                  "command": ["sh", "-c", "echo said; mkdir -p out; touch out/{sample_name}"], "outputs": ["out/{sample_name}"] } ] }
                """);
            log = SlotLogFileTests.LogOf(await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 1, "the job completes"), "a");
        }

        var secret = _folder.Combine("secret.txt");
        File.WriteAllText(secret, "not for the terminal\n");
        File.Delete(log);
        File.CreateSymbolicLink(log, secret);
        var (code, output, error) = await CliRun.RunAsync(_folder.Path, Work, null, "--projects", Projects, "logs", workflow, "--sample", "a");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Contains($"{log}: is a link to a file outside the local backend's log folder", error, StringComparison.Ordinal);
        Assert.DoesNotContain("not for the terminal", error, StringComparison.Ordinal);

        // A FIFO would block the command in open() until a writer came: it is refused at once instead.
        File.Delete(log);
        FileKinds.Fifo(log);
        await using var piped = DaemonProcess.Start(_folder.Path, Work, "--projects", Projects, "logs", workflow, "--sample", "a");
        Assert.Equal(1, await piped.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        await Eventually.WaitAsync(() => piped.Stderr.Any(l => l.Contains($"{log}: is a FIFO (named pipe), not a regular file", StringComparison.Ordinal)),
            "the command names the FIFO", TimeSpan.FromSeconds(10));
        Assert.Empty(piped.Stdout);
    }
}

using Batchkeeper.Core.Snapshots;
using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Security;

/// <summary>Metadata values are data: a NUL is a clear error, a line break never forges a log line, and Ref:: is never substituted into them.</summary>
public sealed class UntrustedValuesTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string Workflow(string command, string output) => $$"""
        { "workflow_name": "w", "analyses": [ { "name": "a", "job_definition": "d:1", "queue": "local",
          "parameters": { "tok": "SUBSTITUTED" },
          "command": ["sh", "-c", "{{command}}"], "outputs": ["{{output}}"] } ] }
        """;

    [Fact]
    public async Task ANulInAMetadataValue_IsAnErrorNamingFileLineAndColumn_AndOtherSamplesStillRun()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        var project = Path.Combine(daemon.Projects, "nul");
        Directory.CreateDirectory(project);
        await File.WriteAllTextAsync(Path.Combine(project, "metadata.csv"), "sample_name,part\ngood,ok\nbad,x\0y\n");
        Demo.Drop(Path.Combine(project, "w.json"), Workflow("mkdir -p out && touch out/{part}", "out/{part}"));

        var snapshot = await TestDaemon.WaitForSnapshotAsync(Path.Combine(project, "w.json"),
            s => s.Errors.Any(e => e.Message.Contains("metadata.csv: line 3.part: holds the control character U+0000 at position 2", StringComparison.Ordinal)),
            "the NUL is reported by file, line and column", TimeSpan.FromSeconds(30));
        Assert.DoesNotContain('\0', string.Join("", snapshot.Errors.Select(e => e.Message)));
        Assert.DoesNotContain("Null character in path", LogFiles.Read(daemon.LogDirectory), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ALineBreakInAValuePlacedInACommand_IsEscapedInTheLog_AndForgesNoLine()
    {
        // The line that quotes a job's command (the local backend's start) is at Debug since issue 16 (item 17).
        await using var daemon = await TestDaemon.StartAsync(_folder.Path, new Dictionary<string, string?> { ["Serilog:MinimumLevel:Default"] = "Debug" });
        var project = Path.Combine(daemon.Projects, "forge");
        Directory.CreateDirectory(project);
        await File.WriteAllTextAsync(Path.Combine(project, "metadata.csv"), "sample_name,note\ns1,\"x\n[ERR] FORGED LINE\"\n");
        Demo.Drop(Path.Combine(project, "w.json"), Workflow("mkdir -p out && touch out/{sample_name} # {note}", "out/{sample_name}"));

        await TestDaemon.WaitForSnapshotAsync(Path.Combine(project, "w.json"), s => s.Summary.Complete == 1, "the job ran");
        var log = "";
        await Eventually.WaitAsync(() => (log = LogFiles.Read(daemon.LogDirectory)).Contains("\\n[ERR] FORGED LINE", StringComparison.Ordinal), "the started line, with the line break escaped");
        Assert.DoesNotContain(log.Split('\n'), line => line.TrimStart().StartsWith("[ERR] FORGED LINE", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AMetadataValueHoldingRefColons_IsNeverSubstitutedAsAParameter()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        var project = Path.Combine(daemon.Projects, "ref");
        Directory.CreateDirectory(project);
        await File.WriteAllTextAsync(Path.Combine(project, "metadata.csv"), "sample_name,label\ns1,Ref::tok\ns2,plain\n");
        Demo.Drop(Path.Combine(project, "w.json"), Workflow("mkdir -p out && echo {label} > out/{sample_name}", "out/{sample_name}"));

        var snapshot = await TestDaemon.WaitForSnapshotAsync(Path.Combine(project, "w.json"),
            s => s.Slots.Any(x => x.Sample == "s2" && x.State == SlotState.Complete) && s.Slots.Any(x => x.Sample == "s1" && x.State == SlotState.Invalid),
            "s1 is invalid, s2 runs");
        Assert.Contains("the value of {label} holds 'Ref::'", snapshot.Slots.Single(x => x.Sample == "s1").Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(project, "out", "s1")), "the job with the substituted value ran");
    }
}

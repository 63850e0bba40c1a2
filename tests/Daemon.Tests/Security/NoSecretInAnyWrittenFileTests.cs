using Batchkeeper.Daemon.Tests.Infrastructure;

namespace Batchkeeper.Daemon.Tests.Security;

/// <summary>
/// The real daemon process, with secrets in its environment and a credentials file outside the projects root,
/// and a projects folder holding everything hostile at once: links to /proc/self/environ and to the credentials
/// file (as metadata, as a named samples file, as a workflow), a device, FIFOs, a NUL and line breaks. No secret
/// appears in any file the daemon writes (snapshots, dashboard, log files, job records and logs) or in its output.
/// </summary>
public sealed class NoSecretInAnyWrittenFileTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task WhateverTheProjectsFolderHolds_NoSecretOfTheDaemonsEnvironmentOrOfACredentialsFile_ReachesAnyFileItWrites()
    {
        var secretKey = "envSECRET" + Guid.NewGuid().ToString("N");
        var fileKeyId = "AKIAFILE" + Guid.NewGuid().ToString("N")[..12].ToUpperInvariant();
        var fileSecret = "fileSECRET" + Guid.NewGuid().ToString("N");
        var credentials = _folder.Combine("secrets", "credentials");
        Directory.CreateDirectory(Path.GetDirectoryName(credentials)!);
        // As a credentials file is, and as a CSV header would be: the key id on the first line.
        await File.WriteAllTextAsync(credentials, $"aws_access_key_id,{fileKeyId}\n[default]\naws_access_key_id = {fileKeyId}\naws_secret_access_key = {fileSecret}\n");

        var projects = _folder.Combine("projects");
        Directory.CreateDirectory(projects);
        string Project(string name)
        {
            var folder = Path.Combine(projects, name);
            Directory.CreateDirectory(folder);
            return folder;
        }

        File.CreateSymbolicLink(Path.Combine(Project("environ"), "metadata.csv"), "/proc/self/environ");
        Demo.Drop(Path.Combine(projects, "environ", "w.json"), Demo.Workflow);
        File.CreateSymbolicLink(Path.Combine(Project("environ-json"), "metadata.json"), "/proc/self/environ");
        Demo.Drop(Path.Combine(projects, "environ-json", "w.json"), Demo.Workflow);
        File.CreateSymbolicLink(Path.Combine(Project("creds"), "metadata.csv"), credentials);
        Demo.Drop(Path.Combine(projects, "creds", "w.json"), Demo.Workflow);
        File.CreateSymbolicLink(Path.Combine(Project("named"), "keys.csv"), credentials);
        Demo.Drop(Path.Combine(projects, "named", "w.json"), Demo.Workflow.Replace("\"analyses\"", "\"samples\": \"keys.csv\", \"analyses\"", StringComparison.Ordinal));
        File.CreateSymbolicLink(Path.Combine(Project("linked-workflow"), "w.json"), credentials);
        File.CreateSymbolicLink(Path.Combine(Project("linked-environ-workflow"), "w.json"), "/proc/self/environ");
        File.CreateSymbolicLink(Path.Combine(projects, "linked-environ-workflow", "w.retry.json"), "/proc/self/environ");
        File.CreateSymbolicLink(Path.Combine(projects, "environ", "w.status.json.link"), "/proc/self/environ");
        FileKinds.ZeroDevice(Path.Combine(Project("device"), "metadata.csv"));
        Demo.Drop(Path.Combine(projects, "device", "w.json"), Demo.Workflow);
        FileKinds.Fifo(Path.Combine(Project("fifo"), "metadata.csv"));
        Demo.Drop(Path.Combine(projects, "fifo", "w.json"), Demo.Workflow);
        FileKinds.Fifo(Path.Combine(projects, "fifo", "pipe.json"));
        await File.WriteAllTextAsync(Path.Combine(Project("nul"), "metadata.csv"), "sample_name,file_name\nn1,a\0b\n");
        Demo.Drop(Path.Combine(projects, "nul", "w.json"), Demo.Workflow);
        await File.WriteAllTextAsync(Path.Combine(Project("newline"), "metadata.csv"), $"sample_name,file_name\nl1,\"x\n[ERR] FORGED {secretKey[..4]}\"\n");
        Demo.Drop(Path.Combine(projects, "newline", "w.json"), Demo.Workflow);
        Demo.CreateProject(projects, "good", ("g1", 2));
        Demo.Drop(Path.Combine(projects, "good", "wordcount.json"), Demo.Workflow);

        var environment = new Dictionary<string, string>
        {
            ["Batchkeeper__ProjectsDirectory"] = projects,
            ["Batchkeeper__LogDirectory"] = _folder.Combine("logs"),
            ["Batchkeeper__Local__WorkDirectory"] = _folder.Combine("work"),
            ["Batchkeeper__ReconcileInterval"] = "00:00:01",
            ["Batchkeeper__RescanInterval"] = "00:00:01",
            ["Batchkeeper__SettleTime"] = "00:00:00.200",
            ["AWS_ACCESS_KEY_ID"] = "AKIAENV" + secretKey[^10..].ToUpperInvariant(),
            ["AWS_SECRET_ACCESS_KEY"] = secretKey,
            ["AWS_SHARED_CREDENTIALS_FILE"] = credentials,
        };
        await using var daemon = DaemonProcess.Start(_folder.Path, environment, "run");

        await TestDaemon.WaitForSnapshotAsync(Path.Combine(projects, "good", "wordcount.json"), s => s.Summary.Complete == 2, "the good workflow converges");
        foreach (var project in new[] { "environ", "environ-json", "creds", "named", "device", "fifo", "nul" })
        {
            await TestDaemon.WaitForSnapshotAsync(Path.Combine(projects, project, "w.json"), s => s.Errors.Count > 0, $"{project}/w.json is reported", TimeSpan.FromSeconds(30));
        }

        daemon.Terminate();
        var exit = await daemon.WaitForExitAsync(TimeSpan.FromSeconds(40));
        Assert.True(exit == 0, $"exit code {exit}: {string.Join("\n", daemon.Stderr)}");

        var secrets = new[] { secretKey, environment["AWS_ACCESS_KEY_ID"], fileKeyId, fileSecret };
        // What the daemon writes in the projects folder: snapshots and the dashboard (the rest is the test's own, FIFOs included).
        var written = Directory.GetFiles(projects, "*.json", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".status.json", StringComparison.Ordinal) || Path.GetFileName(f) == "dashboard.json")
            .Concat(Directory.GetFiles(_folder.Combine("logs"), "*", SearchOption.AllDirectories))
            .Concat(Directory.GetFiles(_folder.Combine("work"), "*", SearchOption.AllDirectories))
            .Distinct()
            .ToArray();
        Assert.Contains(written, f => f.EndsWith("dashboard.json", StringComparison.Ordinal));
        Assert.Contains(written, f => f.EndsWith(Path.Combine("environ", "w.status.json"), StringComparison.Ordinal));
        var leaks = new List<string>();
        foreach (var file in written)
        {
            var text = await File.ReadAllTextAsync(file);
            leaks.AddRange(secrets.Where(s => text.Contains(s, StringComparison.Ordinal)).Select(s => $"{file} holds {s[..6]}…"));
        }

        var output = string.Join("\n", daemon.Stdout.Concat(daemon.Stderr));
        leaks.AddRange(secrets.Where(s => output.Contains(s, StringComparison.Ordinal)).Select(s => $"the daemon's output holds {s[..6]}…"));
        Assert.True(leaks.Count == 0, string.Join("\n", leaks));
        Assert.DoesNotContain(output.Split('\n').Concat(File.ReadAllLines(written.First(f => f.Contains("batchkeeper-", StringComparison.Ordinal)))),
            line => line.TrimStart().StartsWith("[ERR] FORGED", StringComparison.Ordinal));
    }
}

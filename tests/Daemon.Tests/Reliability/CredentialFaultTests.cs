using Batchkeeper.BatchEmulator;
using Batchkeeper.Daemon.Tests.Aws;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Xunit.Abstractions;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Reliability;

/// <summary>
/// The real executable without AWS credentials: the daemon stays up, says so in the snapshot and the log, and
/// converges once valid credentials are in the shared credentials file, without a restart. (Credentials Batch rejects
/// as expired are not tested yet: the emulator can expire a session token, the test is still to come.)
/// </summary>
public sealed class CredentialFaultTests(S3rverFixture s3, ITestOutputHelper output) : IClassFixture<S3rverFixture>, IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string Workflow(string bucketPrefix) => $$"""
        { "workflow_name": "faulty", "analyses": [
          { "name": "align", "job_definition": "align:1", "queue": "q", "command": ["align", "{sample_name}"],
            "outputs": ["s3://results/{{bucketPrefix}}/{sample_name}.bam"] } ] }
        """;

    private string ReadLog() => LogFiles.Read(_folder.Combine("logs"));

    [Fact]
    public async Task WithoutCredentials_TheDaemonStaysUp_SaysSo_AndConvergesOnceTheyAppear()
    {
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions { S3ServiceUrl = new Uri(s3.Server.ServiceUrl) });
        var project = Demo.CreateProject(_folder.Combine("projects"), "study", ("s1", 1));
        var workflow = Path.Combine(project, "faulty.json");
        Demo.Drop(workflow, Workflow(Guid.NewGuid().ToString("N")));
        var home = _folder.Combine("home");
        Directory.CreateDirectory(home);
        var credentials = Path.Combine(home, "credentials");
        // The file exists, empty, from the start: AWSSDK.Core 4 does not notice a credentials file created after its
        // first lookup (README, "Credentials"), but does notice one that changes.
        File.WriteAllText(credentials, "");
        var environment = new Dictionary<string, string>
        {
            ["HOME"] = home,
            ["AWS_SHARED_CREDENTIALS_FILE"] = credentials,
            ["AWS_CONFIG_FILE"] = Path.Combine(home, "config"),
            ["AWS_EC2_METADATA_DISABLED"] = "true",
            ["Batchkeeper__ProjectsDirectory"] = _folder.Combine("projects"),
            ["Batchkeeper__LogDirectory"] = _folder.Combine("logs"),
            ["Batchkeeper__ReconcileInterval"] = "00:00:01",
            ["Batchkeeper__Backend"] = "Aws",
            ["Batchkeeper__Aws__Region"] = "us-east-1",
            ["Batchkeeper__Aws__BatchServiceUrl"] = emulator.BaseAddress.ToString(),
            ["Batchkeeper__Aws__S3ServiceUrl"] = s3.Server.ServiceUrl,
            ["Batchkeeper__Aws__S3ForcePathStyle"] = "true",
        };
        foreach (var name in new[] { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI" })
        {
            environment[name] = "";
        }

        await using var daemon = DaemonProcess.Start(_folder.Path, environment, "run");
        var missing = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Errors.Count > 0, "the snapshot says the credentials are missing");
        var message = string.Join(" | ", missing.Errors.Select(e => e.Message));
        output.WriteLine(message);
        Assert.Contains("credentials", message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("credentials", ReadLog(), StringComparison.OrdinalIgnoreCase);
        Assert.False(daemon.HasExited);
        Assert.Empty(emulator.Jobs);

        // The credentials appear (an operator writes the file): the next passes find them.
        File.WriteAllText(credentials, $"[default]\naws_access_key_id = {S3rver.AccessKey}\naws_secret_access_key = {S3rver.SecretKey}\n");
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 1 && s.Errors.Count == 0, "convergence once credentials exist");
        Assert.Single(emulator.Jobs);
        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(45)));
    }
}

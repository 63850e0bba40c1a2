using Batchkeeper.BatchEmulator;
using Batchkeeper.Daemon.Tests.Aws;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Xunit.Abstractions;
using Emulator = Batchkeeper.BatchEmulator.BatchEmulator;

namespace Batchkeeper.Daemon.Tests.Reliability;

/// <summary>
/// The real executable without AWS credentials, then with session credentials whose token Batch rejects as expired:
/// the daemon stays up, says so in the snapshot and the log (never the secret, the token or a signature), and converges
/// once valid credentials are in the shared credentials file, without a restart.
/// </summary>
/// <remarks>
/// s3rver accepts only the key pair S3RVER/S3RVER and ignores session tokens, so every credentials file here holds that
/// pair; what changes is the session token, which only the emulator checks (<see cref="Emulator.ExpireSessionToken"/>).
/// </remarks>
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

    private static string Profile(string? sessionToken) =>
        $"[default]\naws_access_key_id = {S3rver.AccessKey}\naws_secret_access_key = {S3rver.SecretKey}\n"
        + (sessionToken is null ? "" : $"aws_session_token = {sessionToken}\n");

    /// <summary>
    /// The daemon on the emulator and s3rver, with no credentials in its environment: only the shared credentials file
    /// <paramref name="credentials"/> (which must exist before the start: AWSSDK.Core ignores an
    /// <c>AWS_SHARED_CREDENTIALS_FILE</c> that names a missing file for the life of the process).
    /// </summary>
    private DaemonProcess StartDaemon(Emulator emulator, string credentials)
    {
        var home = Path.GetDirectoryName(credentials)!;
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

        return DaemonProcess.Start(_folder.Path, environment, "run");
    }

    private string CreateCredentialsFile(string content)
    {
        var home = _folder.Combine("home");
        Directory.CreateDirectory(home);
        var credentials = Path.Combine(home, "credentials");
        File.WriteAllText(credentials, content);
        return credentials;
    }

    [Fact]
    public async Task WithoutCredentials_TheDaemonStaysUp_SaysSo_AndConvergesOnceTheyAppear()
    {
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions { S3ServiceUrl = new Uri(s3.Server.ServiceUrl) });
        var project = Demo.CreateProject(_folder.Combine("projects"), "study", ("s1", 1));
        var workflow = Path.Combine(project, "faulty.json");
        Demo.Drop(workflow, Workflow(Guid.NewGuid().ToString("N")));
        var credentials = CreateCredentialsFile(""); // empty: no profile at all

        await using var daemon = StartDaemon(emulator, credentials);
        var missing = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Errors.Count > 0, "the snapshot says the credentials are missing");
        var message = string.Join(" | ", missing.Errors.Select(e => e.Message));
        output.WriteLine(message);
        Assert.Contains("credentials", message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("credentials", ReadLog(), StringComparison.OrdinalIgnoreCase);
        Assert.False(daemon.HasExited);
        Assert.Empty(emulator.Jobs);

        // The credentials appear (an operator writes the file): the next passes find them.
        File.WriteAllText(credentials, Profile(sessionToken: null));
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 1 && s.Errors.Count == 0, "convergence once credentials exist");
        Assert.Single(emulator.Jobs);
        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(45)));
    }

    [Fact]
    public async Task CredentialsFileNamedButMissingAtStart_TheErrorSaysItIsIgnoredUntilARestart()
    {
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions { S3ServiceUrl = new Uri(s3.Server.ServiceUrl) });
        var project = Demo.CreateProject(_folder.Combine("projects"), "study", ("s1", 1));
        var workflow = Path.Combine(project, "faulty.json");
        Demo.Drop(workflow, Workflow(Guid.NewGuid().ToString("N")));
        var credentials = CreateCredentialsFile("");
        File.Delete(credentials);
        File.WriteAllText(Path.Combine(Path.GetDirectoryName(credentials)!, "config"), "[default]\n");

        await using (var daemon = StartDaemon(emulator, credentials))
        {
            var missing = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Errors.Count > 0, "the snapshot says the credentials are missing");
            var message = string.Join(" | ", missing.Errors.Select(e => e.Message));
            output.WriteLine(message);
            Assert.Contains($"AWS_SHARED_CREDENTIALS_FILE names {credentials}, which did not exist when AWSSDK.Core first looked", message, StringComparison.Ordinal);
            Assert.DoesNotContain("AWS_CONFIG_FILE", message, StringComparison.Ordinal);

            // Written now, the file is not read by this process: AWSSDK.Core decided at its first look.
            File.WriteAllText(credentials, Profile(sessionToken: null));
            var passes = emulator.Requests.Count;
            await TestDaemon.WaitForPassAsync(workflow, missing.ReconciledAt.AddSeconds(2), "more passes");
            Assert.Contains("AWS_SHARED_CREDENTIALS_FILE names", string.Join(" | ", (await TestDaemon.ReadSnapshotAsync(workflow))!.Errors.Select(e => e.Message)), StringComparison.Ordinal);
            Assert.Equal(passes, emulator.Requests.Count);
        }

        // After a restart it is.
        await using (var daemon = StartDaemon(emulator, credentials))
        {
            await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 1 && s.Errors.Count == 0, "convergence after the restart");
        }
    }

    [Fact]
    public async Task SessionTokenExpires_TheDaemonStaysUp_SaysSoWithoutTheSecret_AndConvergesOnNewCredentialsInTheFile()
    {
        await using var emulator = await Emulator.StartAsync(new BatchEmulatorOptions { S3ServiceUrl = new Uri(s3.Server.ServiceUrl), RunDuration = TimeSpan.FromMilliseconds(300) });
        var project = Demo.CreateProject(_folder.Combine("projects"), "study", ("s1", 1));
        var workflow = Path.Combine(project, "faulty.json");
        Demo.Drop(workflow, Workflow(Guid.NewGuid().ToString("N")));
        // Tokens as long and opaque as STS's, so that finding one in a log means it was written there.
        var expiring = "IQoJb3JpZ2luX2VjEXPIRING" + Convert.ToHexString(Guid.NewGuid().ToByteArray());
        var renewed = "IQoJb3JpZ2luX2VjRENEWED" + Convert.ToHexString(Guid.NewGuid().ToByteArray());
        var credentials = CreateCredentialsFile(Profile(expiring));

        await using var daemon = StartDaemon(emulator, credentials);
        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 1, "convergence with the first session credentials");
        Assert.All(emulator.Requests, r => Assert.Equal(expiring, r.SessionToken));

        // The token expires while the daemon runs, and a new sample needs a job.
        emulator.ExpireSessionToken(expiring);
        var rejectedBefore = emulator.Requests.Count(r => r.ErrorType == "ExpiredTokenException");
        Demo.AddSample(project, "s2", 2);
        var expired = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Errors.Count > 0, "the snapshot says the credentials expired");
        var message = string.Join(" | ", expired.Errors.Select(e => e.Message));
        output.WriteLine($"expired: {message}");
        Assert.Contains("ExpiredTokenException", message, StringComparison.Ordinal);
        Assert.Contains("credentials", message, StringComparison.OrdinalIgnoreCase);
        await Eventually.WaitAsync(() => ReadLog().Contains("ExpiredTokenException", StringComparison.Ordinal), "the expiry in the log");
        Assert.Contains("AWS rejected the credentials as expired or unknown", ReadLog(), StringComparison.Ordinal);

        // It keeps trying (each pass looks the credentials up again) without failing the slot or exiting.
        await Eventually.WaitAsync(() => emulator.Requests.Count(r => r.ErrorType == "ExpiredTokenException") >= rejectedBefore + 3, "three passes rejected as expired");
        Assert.False(daemon.HasExited);
        var waiting = await TestDaemon.ReadSnapshotAsync(workflow);
        Assert.NotNull(waiting);
        Assert.DoesNotContain(waiting.Slots, slot => slot.State is Batchkeeper.Core.Snapshots.SlotState.FailedPermanently or Batchkeeper.Core.Snapshots.SlotState.Retrying);
        Assert.Single(emulator.Jobs);

        // An operator (or a credential helper) writes renewed session credentials into the same file.
        File.WriteAllText(credentials, Profile(renewed));
        var done = await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2 && s.Errors.Count == 0, "convergence on the renewed credentials");
        Assert.All(done.Slots, slot => Assert.Single(slot.History));
        Assert.Equal(2, emulator.Jobs.Count);
        Assert.Contains(emulator.Requests, r => r.SessionToken == renewed && r.StatusCode == 200);
        Assert.False(daemon.HasExited);

        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(45)));

        // Nothing secret reached a log, the console, a snapshot or the dashboard.
        var written = string.Join("\n",
            [ReadLog(), .. daemon.Stdout, .. daemon.Stderr,
             .. Directory.GetFiles(_folder.Combine("projects"), "*.json", SearchOption.AllDirectories).Select(File.ReadAllText)]);
        foreach (var secret in new[] { S3rver.SecretKey, expiring, renewed, "Signature=", "X-Amz-Security-Token", "aws_secret_access_key" })
        {
            Assert.DoesNotContain(secret, written, StringComparison.OrdinalIgnoreCase);
        }
    }
}

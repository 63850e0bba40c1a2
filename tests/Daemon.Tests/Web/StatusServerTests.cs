using System.Net;
using System.Net.Http.Headers;
using Batchkeeper.Daemon.Tests.Aws;
using Batchkeeper.Daemon.Tests.Infrastructure;
using Batchkeeper.Daemon.Web;
using Microsoft.Extensions.DependencyInjection;

namespace Batchkeeper.Daemon.Tests.Web;

using Batchkeeper.BatchEmulator;

/// <summary>The status server of a real daemon: where it listens, what it refuses, and /healthz against the loop's real health.</summary>
public sealed class StatusServerTests(S3rverFixture s3) : IClassFixture<S3rverFixture>, IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static async Task<Uri> AddressOf(TestDaemon daemon) =>
        await daemon.Host.Services.GetRequiredService<StatusServer>().Address.WaitAsync(TimeSpan.FromSeconds(30));

    [Fact]
    public async Task Daemon_LogsTheAddressItServes_AndHealthzSaysOk()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        var address = await AddressOf(daemon);
        Assert.Equal("127.0.0.1", address.Host);
        Assert.NotEqual(0, address.Port);

        using var http = new HttpClient { BaseAddress = address };
        using var health = await http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("ok\n", await health.Content.ReadAsStringAsync());
        await Eventually.WaitAsync(
            () => LogFiles.HasLine(LogFiles.Read(daemon.LogDirectory), "Status page at", address.ToString()), "the address is logged");
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/healthz")]
    [InlineData("/api/daemon")]
    [InlineData("/no/such/page")]
    public async Task EveryAnswer_CarriesTheContentSecurityPolicyAndNoSniff(string path)
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        using var http = new HttpClient { BaseAddress = await AddressOf(daemon) };
        using var answer = await http.GetAsync(path);
        Assert.Equal(WebSecurity.ContentSecurityPolicy, answer.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("script-src 'self'", WebSecurity.ContentSecurityPolicy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", WebSecurity.ContentSecurityPolicy, StringComparison.Ordinal);
        Assert.Equal("nosniff", answer.Headers.GetValues("X-Content-Type-Options").Single());
    }

    [Fact]
    public async Task TheServerIsReadOnly_AWriteMethodIs405()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        using var http = new HttpClient { BaseAddress = await AddressOf(daemon) };
        using var post = await http.PostAsync("/api/daemon", new StringContent("{}"));
        using var delete = await http.DeleteAsync("/api/workflows/demo/wordcount");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, delete.StatusCode);
        Assert.Equal("GET, HEAD", string.Join(", ", post.Content.Headers.Allow));
    }

    [Fact]
    public async Task ARequestNamingAnotherHost_IsRefused_AgainstDnsRebinding()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path);
        var address = await AddressOf(daemon);
        using var http = new HttpClient { BaseAddress = address };
        using var rebound = new HttpRequestMessage(HttpMethod.Get, "/api/daemon");
        rebound.Headers.Host = $"attacker.example:{address.Port}";
        using var refused = await http.SendAsync(rebound);
        using var local = new HttpRequestMessage(HttpMethod.Get, "/api/daemon");
        local.Headers.Host = $"localhost:{address.Port}";
        using var allowed = await http.SendAsync(local);

        Assert.Equal(HttpStatusCode.MisdirectedRequest, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public async Task WithAToken_EveryRequestButHealthzNeedsTheBearerToken_AndNoAnswerQuotesIt()
    {
        const string token = "s3cr3t-t0ken-for-the-status-page";
        await using var daemon = await TestDaemon.StartAsync(_folder.Path, new Dictionary<string, string?> { ["Batchkeeper:Web:Token"] = token });
        using var http = new HttpClient { BaseAddress = await AddressOf(daemon) };

        using var none = await http.GetAsync("/api/daemon");
        using var wrong = await Send(http, "/api/daemon", "Bearer s3cr3t-t0ken-for-the-status-pagX");
        using var right = await Send(http, "/api/daemon", "Bearer " + token);
        using var health = await http.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("Bearer", none.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        foreach (var answer in new[] { none, wrong, right, health })
        {
            Assert.DoesNotContain(token, await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.DoesNotContain(token, LogFiles.Read(daemon.LogDirectory), StringComparison.Ordinal);
    }

    private static Task<HttpResponseMessage> Send(HttpClient http, string path, string authorization)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = AuthenticationHeaderValue.Parse(authorization);
        return http.SendAsync(request);
    }

    [Fact]
    public async Task WithWebDisabled_NothingListens()
    {
        await using var daemon = await TestDaemon.StartAsync(_folder.Path, new Dictionary<string, string?> { ["Batchkeeper:Web:Enabled"] = "false" });
        Assert.Null(daemon.Host.Services.GetService<StatusServer>());
    }

    [Fact]
    public async Task AnAddressInUse_IsAWarning_AndTheDaemonStillReconciles()
    {
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}";
        await using var daemon = await TestDaemon.StartAsync(_folder.Path, new Dictionary<string, string?> { ["Batchkeeper:Web:Url"] = url });
        Demo.CreateProject(daemon.Projects, "demo", ("alpha", 3));
        var workflow = daemon.WorkflowPath("demo", "wordcount.json");
        Demo.Drop(workflow, Demo.Workflow);

        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "the workflow completes without its page");
        Assert.True(LogFiles.HasLine(LogFiles.Read(daemon.LogDirectory), "[WRN]", "Status page not served", url, "is in use"));
        Assert.False(daemon.Host.Services.GetRequiredService<StatusServer>().Address.IsCompleted);
    }

    [Fact]
    public async Task AnAddressItCannotListenOn_IsOneError_AndTheDaemonStillReconciles()
    {
        // 192.0.2.1 (TEST-NET-1) is on no machine: the bind fails (EADDRNOTAVAIL), nothing listens anywhere.
        await using var daemon = await TestDaemon.StartAsync(_folder.Path, new Dictionary<string, string?>
        {
            ["Batchkeeper:Web:Url"] = "http://192.0.2.1:8421",
            ["Batchkeeper:Web:AllowRemote"] = "true",
            ["Batchkeeper:Web:Token"] = "a-token-long-enough-for-a-remote-page",
        });
        Demo.CreateProject(daemon.Projects, "demo", ("alpha", 3));
        var workflow = daemon.WorkflowPath("demo", "wordcount.json");
        Demo.Drop(workflow, Demo.Workflow);

        await TestDaemon.WaitForSnapshotAsync(workflow, s => s.Summary.Complete == 2, "the workflow completes without its page");
        await Eventually.WaitAsync(
            () => LogFiles.HasLine(LogFiles.Read(daemon.LogDirectory), "[ERR]", "Status page not served: cannot listen on http://192.0.2.1:8421"), "the error is logged");
        Assert.Equal(1, LogFiles.CountLines(LogFiles.Read(daemon.LogDirectory), "Status page not served"));
        Assert.False(daemon.Host.Services.GetRequiredService<StatusServer>().Address.IsCompleted);
    }

    [Fact]
    public async Task Healthz_Is503WhileAPassIsStalled_And200AgainOnceItEnds()
    {
        // Every SubmitJob hangs 8 s after it is processed; with PassStallAfter at 1 s, the pass waiting for it is stalled.
        await using var emulator = await BatchEmulator.StartAsync(new BatchEmulatorOptions
        {
            S3ServiceUrl = new Uri(s3.Server.ServiceUrl),
            Faults = new FaultSettings { StallRate = 1.0, StallAfterProcessing = true, StallDuration = TimeSpan.FromSeconds(8), Operations = [BatchOperations.SubmitJob] },
        });
        await using var daemon = await TestDaemon.StartOnAwsAsync(_folder.Path, emulator.BaseAddress, s3.Server.ServiceUrl, new Dictionary<string, string?>
        {
            ["Batchkeeper:PassStallAfter"] = "00:00:01",
            ["Batchkeeper:Aws:AttemptTimeout"] = "00:00:30",
        });
        using var http = new HttpClient { BaseAddress = await AddressOf(daemon) };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);

        Demo.CreateProject(daemon.Projects, "study", ("s1", 1));
        Demo.Drop(daemon.WorkflowPath("study", "one.json"), """
            { "workflow_name": "one", "analyses": [ { "name": "align", "job_definition": "famli:1", "queue": "spot",
              "command": ["true"], "outputs": ["s3://results/health/{sample_name}.txt"] } ] }
            """);

        var stalled = await Eventually.WaitAsync(() => Health(http), r => r?.Code == HttpStatusCode.ServiceUnavailable, "healthz says the loop is stalled");
        Assert.StartsWith("stalled: the pass of ", stalled.Body, StringComparison.Ordinal);
        Assert.Contains("one.json has run for", stalled.Body, StringComparison.Ordinal);
        emulator.Faults.Update(f => f with { StallRate = 0 });
        await Eventually.WaitAsync(() => Health(http), r => r?.Code == HttpStatusCode.OK, "healthz is ok once the pass ended", TimeSpan.FromSeconds(60));
    }

    private sealed record Answer(HttpStatusCode Code, string Body);

    private static async Task<Answer?> Health(HttpClient http)
    {
        using var answer = await http.GetAsync("/healthz");
        return new Answer(answer.StatusCode, await answer.Content.ReadAsStringAsync());
    }
}

/// <summary><c>batchkeeper run</c> with a status page address it must not serve: one line each, exit 2, before anything starts.</summary>
public sealed class StatusServerConfigurationTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private Task<(int Code, string Out, string Err)> RunAsync(string web)
    {
        File.WriteAllText(_folder.Combine("appsettings.json"), $$"""{ "Batchkeeper": { "Web": {{web}} } }""");
        return CliRun.RunAsync(_folder.Path, null, null, ["run", "--projects", _folder.Combine("projects")]);
    }

    [Fact]
    public async Task ARemoteAddressWithoutAllowRemote_RefusesToStart()
    {
        var (code, _, err) = await RunAsync("""{ "Url": "http://0.0.0.0:8421" }""");

        Assert.Equal(2, code);
        var line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("batchkeeper: configuration: Batchkeeper:Web:Url: http://0.0.0.0:8421 is not a loopback address", line, StringComparison.Ordinal);
        Assert.Contains("Batchkeeper:Web:AllowRemote=true", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_folder.Combine("projects")), "nothing started: not even the projects folder was made");
    }

    [Theory]
    [InlineData("""{ "Url": "http://0.0.0.0:8421", "AllowRemote": true }""")]
    [InlineData("""{ "Url": "http://*:8421", "AllowRemote": true, "Token": "hunter2" }""")]
    public async Task ARemoteBindWithoutAGoodToken_RefusesToStart_WithoutQuotingTheToken(string web)
    {
        var (code, output, err) = await RunAsync(web);

        Assert.Equal(2, code);
        var line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("batchkeeper: configuration: Batchkeeper:Web:Token: required when Batchkeeper:Web:AllowRemote is true", line, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", output + err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://127.0.0.1:8421")]
    [InlineData("http://127.0.0.1")]
    [InlineData("http://127.0.0.1:8421/status")]
    [InlineData("http://status.example.org:8421")]
    [InlineData("127.0.0.1:8421")]
    [InlineData("http://user:hunter2@127.0.0.1:8421")]
    public async Task AnUrlThatIsNotHttpAddressAndPort_RefusesToStart_SayingWhatIsExpected(string url)
    {
        var (code, _, err) = await RunAsync($$"""{ "Url": "{{url}}" }""");

        Assert.Equal(2, code);
        var line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var shown = url.Contains('@', StringComparison.Ordinal) ? "(an address with a user name or password, not shown)" : url;
        Assert.DoesNotContain("hunter2", err, StringComparison.Ordinal);
        Assert.Equal($"batchkeeper: configuration: Batchkeeper:Web:Url: '{shown}' is not allowed: expected http://ADDRESS:PORT such as http://127.0.0.1:8421 (an IP address or localhost, port 0 to 65535, no path)", line);
    }
}

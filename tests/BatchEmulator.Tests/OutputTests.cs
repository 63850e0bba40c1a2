using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3;
using Batchkeeper.BatchEmulator.Tests.Infrastructure;

namespace Batchkeeper.BatchEmulator.Tests;

/// <summary>What a succeeding job leaves behind: the BATCHKEEPER_OUTPUTS objects in S3, or the OnSucceeded hook.</summary>
public sealed class OutputTests
{
    private static object Outputs(params string[] uris) =>
        new { environment = new[] { new { name = "BATCHKEEPER_OUTPUTS", value = string.Join('\n', uris) } } };

    [Fact]
    public async Task SucceedingJob_PutsAnObjectForEveryOutput_IntoS3()
    {
        await using var s3rver = await S3rverProcess.StartAsync("outputs");
        await using var emulator = await BatchEmulator.StartAsync(new BatchEmulatorOptions { S3ServiceUrl = s3rver.ServiceUrl });
        using var http = new BatchHttp(emulator.BaseAddress);

        var id = await http.SubmitAsync("writes-two", containerOverrides: Outputs("s3://outputs/demo/s1.json.gz", "s3://outputs/demo/deep/s1.txt"));
        var job = await http.WaitForFinalAsync(id);

        Assert.True(job.Status() == "SUCCEEDED", job.ToString());
        using var s3 = s3rver.Client();
        foreach (var key in new[] { "demo/s1.json.gz", "demo/deep/s1.txt" })
        {
            using var stored = await s3.GetObjectAsync("outputs", key);
            using var reader = new StreamReader(stored.ResponseStream);
            // Exactly the body, not wrapped in aws-chunked framing (s3rver's trap).
            Assert.Equal($"written by the Batch emulator for job writes-two ({id}), attempt 1\n", await reader.ReadToEndAsync());
        }
    }

    [Fact]
    public async Task FailedPut_FailsTheJob_WithTheUriInTheReason()
    {
        var closedPort = ClosedLoopbackPort();
        await using var emulator = await BatchEmulator.StartAsync(new BatchEmulatorOptions
        {
            S3ServiceUrl = new Uri($"http://127.0.0.1:{closedPort}"),
        });
        using var http = new BatchHttp(emulator.BaseAddress);

        var unreachable = await http.WaitForFinalAsync(await http.SubmitAsync("cannot-write", containerOverrides: Outputs("s3://outputs/x.txt")));
        var notS3 = await http.WaitForFinalAsync(await http.SubmitAsync("not-s3", containerOverrides: Outputs("file:///tmp/x.txt")));
        var noOutputs = await http.WaitForFinalAsync(await http.SubmitAsync("writes-nothing"));

        Assert.Equal("FAILED", unreachable.Status());
        Assert.Equal(1, unreachable.GetProperty("container").GetProperty("exitCode").GetInt32());
        Assert.StartsWith("BATCHKEEPER_OUTPUTS: PUT s3://outputs/x.txt failed", unreachable.GetProperty("container").Str("reason"), StringComparison.Ordinal);
        Assert.Equal("FAILED", notS3.Status());
        Assert.Contains("is not an s3://bucket/key URI", notS3.GetProperty("container").Str("reason"), StringComparison.Ordinal);
        Assert.Equal("SUCCEEDED", noOutputs.Status());
    }

    [Fact]
    public async Task OnSucceededHook_SeesTheJobAndItsOutputs_AndItsExceptionFailsTheJob()
    {
        var seen = new List<EmulatedJob>();
        await using var emulator = await BatchEmulator.StartAsync(new BatchEmulatorOptions
        {
            OnSucceeded = (job, _) =>
            {
                lock (seen)
                {
                    seen.Add(job);
                }

                return job.JobName.StartsWith("hook-fails", StringComparison.Ordinal)
                    ? throw new InvalidOperationException("disk full")
                    : Task.CompletedTask;
            },
        });
        using var http = new BatchHttp(emulator.BaseAddress);

        var ok = await http.WaitForFinalAsync(await http.SubmitAsync("hook-ok", containerOverrides: Outputs("s3://b/k1", "", "  s3://b/k2  ")));
        var failed = await http.WaitForFinalAsync(await http.SubmitAsync("hook-fails"));

        Assert.Equal("SUCCEEDED", ok.Status());
        Assert.Equal("FAILED", failed.Status());
        Assert.Equal("InvalidOperationException: disk full", failed.GetProperty("container").Str("reason"));
        lock (seen)
        {
            var hookOk = seen.Single(j => j.JobName == "hook-ok");
            Assert.Equal(["s3://b/k1", "s3://b/k2"], hookOk.Outputs);
            Assert.Equal("RUNNING", hookOk.Status); // called before the job SUCCEEDS
        }
    }

    private static int ClosedLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>s3rver (npm) on a port of its choosing, with the given buckets, in a temp folder.</summary>
    private sealed class S3rverProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly string _directory;

        private S3rverProcess(Process process, string directory, int port)
        {
            _process = process;
            _directory = directory;
            ServiceUrl = new Uri($"http://127.0.0.1:{port}");
        }

        public Uri ServiceUrl { get; }

        public static async Task<S3rverProcess> StartAsync(params string[] buckets)
        {
            await NodeTooling.EnsureInstalledAsync();
            var directory = Directory.CreateTempSubdirectory("s3rver-").FullName;
            var info = new ProcessStartInfo("node")
            {
                WorkingDirectory = NodeTooling.JsDirectory,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                Environment = { ["NODE_OPTIONS"] = "--openssl-legacy-provider" },
            };
            info.ArgumentList.Add("s3rver-start.mjs");
            info.ArgumentList.Add(directory);
            foreach (var bucket in buckets)
            {
                info.ArgumentList.Add(bucket);
            }

            var process = Process.Start(info)!;
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            if (line is null)
            {
                var error = await process.StandardError.ReadToEndAsync();
                process.Kill(entireProcessTree: true);
                Assert.Fail($"s3rver did not start: {error}");
            }

            var port = JsonDocument.Parse(line!).RootElement.GetProperty("port").GetInt32();
            return new S3rverProcess(process, directory, port);
        }

        public AmazonS3Client Client() => new(
            new BasicAWSCredentials("S3RVER", "S3RVER"),
            new AmazonS3Config
            {
                ServiceURL = ServiceUrl.ToString(),
                ForcePathStyle = true,
                AuthenticationRegion = "us-east-1",
                RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
                ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            });

        public async ValueTask DisposeAsync()
        {
            _process.StandardInput.Close(); // s3rver-start.mjs stops when its stdin ends
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
            Directory.Delete(_directory, recursive: true);
        }
    }
}

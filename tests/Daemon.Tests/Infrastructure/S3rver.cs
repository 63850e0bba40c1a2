using System.Diagnostics;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3;

namespace Batchkeeper.Daemon.Tests.Infrastructure;

/// <summary>
/// s3rver (npm) as a real S3 endpoint on 127.0.0.1 with a port chosen at run time. It stops when disposed,
/// and by itself if the test process dies (it exits when its standard input closes).
/// </summary>
public sealed class S3rver : IAsyncDisposable
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    private readonly Process _process;
    private readonly TempFolder _storage;

    private S3rver(Process process, TempFolder storage, int port)
    {
        _process = process;
        _storage = storage;
        Port = port;
    }

    public int Port { get; }

    public string ServiceUrl => $"http://127.0.0.1:{Port}";

    public static async Task<S3rver> StartAsync(params string[] buckets)
    {
        await NodeTools.EnsureInstalledAsync();
        var storage = new TempFolder();
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = NodeTools.Folder,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("s3rver-start.js");
        start.ArgumentList.Add(storage.Path);
        foreach (var bucket in buckets)
        {
            start.ArgumentList.Add(bucket);
        }

        // s3rver encrypts continuation tokens with DES, which needs OpenSSL's legacy provider.
        start.Environment["NODE_OPTIONS"] = "--openssl-legacy-provider";
        var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
        if (line is null)
        {
            throw new InvalidOperationException($"s3rver did not start: {await process.StandardError.ReadToEndAsync(timeout.Token)}");
        }

        var port = JsonDocument.Parse(line).RootElement.GetProperty("port").GetInt32();
        return new S3rver(process, storage, port);
    }

    /// <summary>A client configured for s3rver as toolchain.md describes.</summary>
    public AmazonS3Client CreateClient() => new(new BasicAWSCredentials(AccessKey, SecretKey), new AmazonS3Config
    {
        ServiceURL = ServiceUrl,
        ForcePathStyle = true,
        AuthenticationRegion = "us-east-1",
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
    });

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }
        finally
        {
            _process.Dispose();
            _storage.Dispose();
        }
    }
}

using System.Diagnostics;
using System.Net;
using Batchkeeper.BatchEmulator.Tests.Infrastructure;

namespace Batchkeeper.BatchEmulator.Tests;

/// <summary>The emulator as a process of its own, as the benchmark runs it.</summary>
public sealed class ExecutableTests
{
    [Fact]
    public async Task Executable_PrintsItsAddressAndEventsQueue_ServesRequests_AndStopsOnSigterm()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Batchkeeper.BatchEmulator.dll");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            ArgumentList =
            {
                dll, "--port", "0", "--strict", "--queue", "exe-queue", "--job-definition", "exe-def:2", "--run-ms", "20",
                "--events-queue", "exe-events", "--events-job-queue", "exe-queue", "--events-name-prefix", "exe-",
            },
        };
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.NotNull(line);
            Assert.Matches(@"^listening on http://127\.0\.0\.1:\d+$", line);
            var queueLine = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            using var http = new BatchHttp(new Uri(line!["listening on ".Length..]));

            var health = await http.ControlAsync(HttpMethod.Get, "health");
            var id = await http.SubmitAsync("exe-job", queue: "exe-queue", definition: "exe-def");
            var done = await http.WaitForFinalAsync(id);
            var events = await Eventually.WaitAsync(
                () => http.ControlAsync(HttpMethod.Get, "events"), e => e.GetProperty("visible").GetInt32() == 5, "the job's five events");
            var unknown = await http.CallAsync("SubmitJob", new { jobName = "x", jobQueue = "other", jobDefinition = "exe-def" });

            Assert.Equal("ok", health.Str("status"));
            Assert.Equal("SUCCEEDED", done.Status());
            Assert.EndsWith("job-definition/exe-def:2", done.Str("jobDefinition"), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.BadRequest, unknown.Status); // --strict
            Assert.Equal($"events queue {line["listening on ".Length..]}/123456789012/exe-events", queueLine);
            Assert.Equal(queueLine!["events queue ".Length..], events.Str("queueUrl"));

            using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await process.WaitForExitAsync(deadline.Token);
            Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}; stderr:\n{await stderr}");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public async Task Executable_WithAnUnknownArgument_ExitsWithUsage()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Batchkeeper.BatchEmulator.dll");

        var result = await ProcessRunner.RunAsync("dotnet", [dll, "--bogus"], AppContext.BaseDirectory, TimeSpan.FromSeconds(30));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Unknown argument --bogus", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("usage:", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Executable_WithAnEventRuleButNoEventsQueue_ExitsWithUsage()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Batchkeeper.BatchEmulator.dll");

        var result = await ProcessRunner.RunAsync("dotnet", [dll, "--events-name-prefix", "bk-"], AppContext.BaseDirectory, TimeSpan.FromSeconds(30));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("need --events-queue", result.StandardError, StringComparison.Ordinal);
    }
}

using System.Text.Json;
using Batchkeeper.BatchEmulator.Tests.Infrastructure;

namespace Batchkeeper.BatchEmulator.Tests;

/// <summary>
/// The official CloudWatch Logs JavaScript client (<c>@aws-sdk/client-cloudwatch-logs</c>) reading the emulator's log
/// streams: if it can page a stream with GetLogEvents and recognise the errors, the emulator speaks the JSON 1.1
/// protocol the daemon's own client must speak. The script (js/logs-check.mjs) reports; the assertions are here.
/// </summary>
public sealed class LogsConformanceTests
{
    [Fact]
    public async Task OfficialJsClient_PagesAJobsLogStream_AndReadsTheErrors()
    {
        await using var emulator = await BatchEmulator.StartAsync(new BatchEmulatorOptions { LogEventsPageSize = 3 });
        using var http = new BatchHttp(emulator.BaseAddress);
        var jobId = await http.SubmitAsync("logged");
        var job = await http.WaitForFinalAsync(jobId);
        var stream = job.GetProperty("container").Str("logStreamName")!;
        var extra = Enumerable.Range(1, 7).Select(i => $"line {i}").ToArray();
        foreach (var line in extra)
        {
            emulator.Logs.Append(stream, line, DateTimeOffset.UtcNow);
        }

        var result = await NodeTooling.RunCheckAsync("logs-check.mjs", [emulator.BaseAddress.ToString(), stream, "2"], TimeSpan.FromSeconds(60));

        var messages = result.GetProperty("messages").EnumerateArray().Select(m => m.GetString()).ToArray();
        // The emulator's own start and exit lines, then the test's, in order, across pages of two.
        Assert.Equal(9, messages.Length);
        Assert.StartsWith("logged attempt 1:", messages[0], StringComparison.Ordinal);
        Assert.Equal("exit code 0", messages[1]);
        Assert.Equal(extra, messages[2..]);
        Assert.True(result.GetProperty("pages").GetInt32() >= 5, $"read in {result.GetProperty("pages").GetInt32()} pages");
        var timestamps = result.GetProperty("timestamps").EnumerateArray().Select(t => t.GetInt64()).ToArray();
        Assert.Equal(timestamps.Order(), timestamps);
        Assert.Equal(["line 7"], result.GetProperty("newestWithoutHead").EnumerateArray().Select(m => m.GetString()));

        Assert.True(result.GetProperty("missingStream").GetProperty("isNotFound").GetBoolean(), result.GetProperty("missingStream").ToString());
        Assert.Equal(400, result.GetProperty("missingStream").GetProperty("httpStatusCode").GetInt32());
        Assert.Equal("ResourceNotFoundException", result.GetProperty("missingGroup").Str("name"));

        var requests = emulator.RequestsFor(LogsOperations.GetLogEvents);
        Assert.All(requests, r => Assert.True(r.IsSigned && r.ContentType == "application/x-amz-json-1.1", $"{r.ContentType} signed={r.IsSigned}"));
    }
}

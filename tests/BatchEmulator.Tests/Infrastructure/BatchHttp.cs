using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Batchkeeper.BatchEmulator.Tests.Infrastructure;

internal sealed record BatchResponse(HttpStatusCode Status, string? ErrorType, string? ContentType, JsonElement Body)
{
    public override string ToString() => $"{(int)Status} {ErrorType} {Body}";
}

/// <summary>A plain HttpClient speaking Batch's wire format and the emulator's control endpoints.</summary>
internal sealed class BatchHttp(Uri baseAddress, TimeSpan? timeout = null) : IDisposable
{
    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(15);

    private readonly HttpClient _http = new() { BaseAddress = baseAddress, Timeout = timeout ?? TimeSpan.FromSeconds(30) };

    public Task<BatchResponse> CallAsync(string operation, object request, string? authorization = null) =>
        PostRawAsync($"/v1/{operation.ToLowerInvariant()}", JsonSerializer.Serialize(request), authorization);

    public async Task<BatchResponse> PostRawAsync(string path, string body, string? authorization = null)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(body, Encoding.UTF8),
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (authorization is not null)
        {
            message.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        using var response = await _http.SendAsync(message);
        var text = await response.Content.ReadAsStringAsync();
        var errorType = response.Headers.TryGetValues("x-amzn-ErrorType", out var values) ? values.Single() : null;
        return new BatchResponse(
            response.StatusCode, errorType, response.Content.Headers.ContentType?.ToString(),
            text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>SubmitJob that must succeed; returns the job id.</summary>
    public async Task<string> SubmitAsync(
        string jobName, string queue = "q", string definition = "d", IEnumerable<string>? dependsOn = null,
        object? containerOverrides = null, object? retryStrategy = null)
    {
        var request = new Dictionary<string, object> { ["jobName"] = jobName, ["jobQueue"] = queue, ["jobDefinition"] = definition };
        if (dependsOn is not null)
        {
            request["dependsOn"] = dependsOn.Select(id => new { jobId = id }).ToList();
        }

        if (containerOverrides is not null)
        {
            request["containerOverrides"] = containerOverrides;
        }

        if (retryStrategy is not null)
        {
            request["retryStrategy"] = retryStrategy;
        }

        var response = await CallAsync("SubmitJob", request);
        Assert.True(response.Status == HttpStatusCode.OK, $"SubmitJob {jobName}: {response}");
        return response.Body.GetProperty("jobId").GetString()!;
    }

    /// <summary>DescribeJobs of one id: the JobDetail, or null when the emulator does not show it.</summary>
    public async Task<JsonElement?> DescribeAsync(string jobId)
    {
        var response = await CallAsync("DescribeJobs", new { jobs = new[] { jobId } });
        Assert.True(response.Status == HttpStatusCode.OK, $"DescribeJobs: {response}");
        var jobs = response.Body.GetProperty("jobs");
        return jobs.GetArrayLength() == 0 ? null : jobs[0];
    }

    /// <summary>Describes the job until <paramref name="done"/> holds for it (deadline 15 s by default).</summary>
    public Task<JsonElement> WaitForAsync(string jobId, Func<JsonElement, bool> done, string what, TimeSpan? timeout = null) =>
        Eventually.WaitAsync(
            async () => await DescribeAsync(jobId) ?? default,
            job => job.ValueKind == JsonValueKind.Object && done(job),
            $"job {jobId} to be {what}",
            timeout ?? DefaultWait);

    public Task<JsonElement> WaitForStatusAsync(string jobId, string status, TimeSpan? timeout = null) =>
        WaitForAsync(jobId, j => j.GetProperty("status").GetString() == status, status, timeout);

    public Task<JsonElement> WaitForFinalAsync(string jobId, TimeSpan? timeout = null) =>
        WaitForAsync(jobId, j => j.GetProperty("status").GetString() is "SUCCEEDED" or "FAILED", "SUCCEEDED or FAILED", timeout);

    /// <summary>Sends a control request under /_emulator/ that must succeed; returns its JSON.</summary>
    public async Task<JsonElement> ControlAsync(HttpMethod method, string path, object? body = null)
    {
        using var message = new HttpRequestMessage(method, "/_emulator/" + path);
        if (body is not null)
        {
            message.Content = new StringContent(body as string ?? JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        using var response = await _http.SendAsync(message);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} /_emulator/{path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public HttpClient Client => _http;

    public void Dispose() => _http.Dispose();
}

internal static class JsonElementExtensions
{
    public static string? Str(this JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static bool Has(this JsonElement element, string name) => element.TryGetProperty(name, out _);

    public static string Status(this JsonElement job) => job.GetProperty("status").GetString()!;
}

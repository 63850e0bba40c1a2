using System.Text.Json;
using System.Text.Json.Serialization;
using Batchkeeper.Daemon.Aws.Batch;
using BatchJob = Batchkeeper.Daemon.Aws.Batch.Model.JobDetail;

namespace Batchkeeper.Daemon.Aws.JobStates;

/// <summary>What a message of the events queue holds.</summary>
public abstract record EventMessage
{
    /// <summary>A "Batch Job State Change": <c>detail</c> is the job as DescribeJobs gives it.</summary>
    public sealed record JobStateChange(string EventId, BatchJob Job) : EventMessage;

    /// <summary>Another EventBridge event (e.g. "Batch Job Queue Blocked"): nothing to apply.</summary>
    public sealed record Other(string DetailType, string Source) : EventMessage;

    /// <summary>Not an event at all; <paramref name="Reason"/> says why in the reader's words, never quoting the body.</summary>
    public sealed record Bad(string Reason) : EventMessage;

    /// <summary>The EventBridge detail-type of a job's state change.</summary>
    public const string JobStateChangeType = "Batch Job State Change";

    /// <summary>Reads a message body; never throws: whatever it is not, it is <see cref="Bad"/>. Unknown members are ignored.</summary>
    public static EventMessage Parse(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return new Bad("empty");
        }

        Envelope? envelope;
        try
        {
            envelope = JsonSerializer.Deserialize(body, EventJsonContext.Default.Envelope);
        }
        catch (JsonException e)
        {
            return new Bad($"not an EventBridge event in JSON{At(e)}");
        }

        if (envelope is null || envelope.DetailType is not { Length: > 0 } type)
        {
            return new Bad("no detail-type");
        }

        var source = envelope.Source ?? "";
        if (type != JobStateChangeType || source != "aws.batch")
        {
            return new Other(type, source);
        }

        if (envelope.Detail is not { ValueKind: JsonValueKind.Object } detail)
        {
            return new Bad("a job-state change without a detail object");
        }

        try
        {
            var job = detail.Deserialize(BatchJsonContext.Default.JobDetail);
            return job is null || string.IsNullOrEmpty(job.JobId) || string.IsNullOrEmpty(job.JobQueue) || string.IsNullOrEmpty(job.Status)
                ? new Bad("its detail lacks jobId, jobQueue or status")
                : new JobStateChange(envelope.Id ?? "", job);
        }
        catch (JsonException e)
        {
            return new Bad($"its detail is not a Batch job{At(e)}");
        }
    }

    // The path of the member, never its value.
    private static string At(JsonException e) => e.Path is { Length: > 0 } path ? $" (at {path})" : "";

    /// <summary>EventBridge's envelope: the members read, as EventBridge names them.</summary>
    internal sealed class Envelope
    {
        [JsonPropertyName("id")]
        public string? Id { get; init; }

        [JsonPropertyName("detail-type")]
        public string? DetailType { get; init; }

        [JsonPropertyName("source")]
        public string? Source { get; init; }

        [JsonPropertyName("detail")]
        public JsonElement? Detail { get; init; }
    }
}

[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = false)]
[JsonSerializable(typeof(EventMessage.Envelope))]
internal sealed partial class EventJsonContext : JsonSerializerContext;

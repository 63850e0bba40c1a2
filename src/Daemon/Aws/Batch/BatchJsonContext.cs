using System.Text.Json;
using System.Text.Json.Serialization;
using Batchkeeper.Daemon.Aws.Batch.Model;

namespace Batchkeeper.Daemon.Aws.Batch;

/// <summary>
/// Source-generated JSON metadata for the Batch API: camelCase member names as in the service model,
/// null members left out of requests, timestamps as epoch milliseconds, names matched exactly.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNameCaseInsensitive = false,
    Converters = [typeof(EpochMillisecondsConverter)])]
[JsonSerializable(typeof(SubmitJobRequest))]
[JsonSerializable(typeof(SubmitJobResponse))]
[JsonSerializable(typeof(DescribeJobsRequest))]
[JsonSerializable(typeof(DescribeJobsResponse))]
[JsonSerializable(typeof(JobDetail))]
[JsonSerializable(typeof(ListJobsRequest))]
[JsonSerializable(typeof(ListJobsResponse))]
[JsonSerializable(typeof(TerminateJobRequest))]
[JsonSerializable(typeof(TerminateJobResponse))]
[JsonSerializable(typeof(CancelJobRequest))]
[JsonSerializable(typeof(CancelJobResponse))]
[JsonSerializable(typeof(DescribeJobQueuesRequest))]
[JsonSerializable(typeof(DescribeJobQueuesResponse))]
[JsonSerializable(typeof(DescribeJobDefinitionsRequest))]
[JsonSerializable(typeof(DescribeJobDefinitionsResponse))]
internal sealed partial class BatchJsonContext : JsonSerializerContext;

/// <summary>Reads and writes a timestamp as milliseconds since the Unix epoch (the model's <c>Long</c> timestamps).</summary>
internal sealed class EpochMillisecondsConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.Number)
        {
            throw new JsonException($"Expected a timestamp in epoch milliseconds, found {reader.TokenType}.");
        }

        var milliseconds = reader.TryGetInt64(out var whole) ? whole : (long)Math.Round(reader.GetDouble());
        return DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
    }

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteNumberValue(value.ToUnixTimeMilliseconds());
    }
}

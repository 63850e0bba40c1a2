using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Batchkeeper.BatchEmulator;

/// <summary>JSON settings of the wire (Batch's camelCase members, absent fields omitted) and of the control endpoints.</summary>
internal static class Json
{
    public static JsonSerializerOptions Wire { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNameCaseInsensitive = false,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.Strict,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // never served to a browser
    };

    public static JsonSerializerOptions Control { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = false,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter() },
    };
}

/// <summary>A TimeSpan read from "hh:mm:ss(.fff)" or from a number of milliseconds; written as "c" format.</summary>
internal sealed class LenientTimeSpanConverter : JsonConverter<TimeSpan>
{
    public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.Number => TimeSpan.FromMilliseconds(reader.GetDouble()),
            JsonTokenType.String when TimeSpan.TryParse(reader.GetString(), CultureInfo.InvariantCulture, out var value) => value,
            _ => throw new JsonException("A duration is \"hh:mm:ss.fff\" or a number of milliseconds."),
        };

    public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString("c", CultureInfo.InvariantCulture));
}

/// <summary>The nullable form of <see cref="LenientTimeSpanConverter"/>.</summary>
internal sealed class LenientNullableTimeSpanConverter : JsonConverter<TimeSpan?>
{
    private static readonly LenientTimeSpanConverter Inner = new();

    public override bool HandleNull => true;

    public override TimeSpan? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? null : Inner.Read(ref reader, typeof(TimeSpan), options);

    public override void Write(Utf8JsonWriter writer, TimeSpan? value, JsonSerializerOptions options)
    {
        if (value is { } v)
        {
            Inner.Write(writer, v, options);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}

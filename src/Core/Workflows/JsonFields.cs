using System.Globalization;
using System.Text.Json;

namespace Batchkeeper.Core.Workflows;

/// <summary>Typed reads of JSON fields for the workflow parsers: each reports a wrong value by field, with what was expected and what was found.</summary>
internal static class JsonFields
{
    internal static string? RequiredString(JsonElement parent, string key, string field, Action<string, string> error)
    {
        if (!parent.TryGetProperty(key, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            error(field, "required: a non-empty string");
            return null;
        }

        if (element.ValueKind != JsonValueKind.String || element.GetString()!.Trim().Length == 0)
        {
            error(field, $"expected a non-empty string, got {Describe(element)}");
            return null;
        }

        return element.GetString();
    }

    internal static string? OptionalString(JsonElement parent, string key, string field, Action<string, string> error)
    {
        if (!parent.TryGetProperty(key, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return RequiredString(parent, key, field, error);
    }

    internal static bool? OptionalBool(JsonElement parent, string key, string field, Action<string, string> error)
    {
        if (!parent.TryGetProperty(key, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return element.GetBoolean();
        }

        error(field, $"expected true or false, got {Describe(element)}");
        return null;
    }

    internal static int? PositiveInt(JsonElement parent, string key, string field, Action<string, string> error)
    {
        var number = PositiveNumber(parent, key, field, error);
        if (number is null)
        {
            return null;
        }

        if (number != Math.Floor(number.Value) || number > int.MaxValue)
        {
            error(field, $"expected a whole number, got {number.Value.ToString(CultureInfo.InvariantCulture)}");
            return null;
        }

        return (int)number.Value;
    }

    internal static double? PositiveNumber(JsonElement parent, string key, string field, Action<string, string> error)
    {
        if (!parent.TryGetProperty(key, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        double value;
        if (element.ValueKind == JsonValueKind.Number)
        {
            value = element.GetDouble();
        }
        else if (element.ValueKind == JsonValueKind.String
                 && double.TryParse(element.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
        {
            value = parsed;
        }
        else
        {
            error(field, $"expected a positive number, got {Describe(element)}");
            return null;
        }

        if (value <= 0 || double.IsNaN(value) || double.IsInfinity(value))
        {
            error(field, $"expected a positive number, got {value.ToString(CultureInfo.InvariantCulture)}");
            return null;
        }

        return value;
    }

    internal static List<string>? StringList(JsonElement parent, string key, string field, Action<string, string> error)
    {
        if (!parent.TryGetProperty(key, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            error(field, $"expected a list of strings, got {Describe(element)}");
            return null;
        }

        var list = new List<string>();
        var i = 0;
        foreach (var item in element.EnumerateArray())
        {
            if (Scalar(item) is { } text)
            {
                list.Add(text);
            }
            else
            {
                error($"{field}[{i}]", $"expected a string, got {Describe(item)}");
            }

            i++;
        }

        return list;
    }

    internal static Dictionary<string, string> OptionalMap(JsonElement parent, string key, string field, Action<string, string> error)
    {
        if (!parent.TryGetProperty(key, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return new Dictionary<string, string>();
        }

        return StringMap(element, field, error) ?? new Dictionary<string, string>();
    }

    internal static Dictionary<string, string>? StringMap(JsonElement element, string field, Action<string, string> error)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            error(field, $"expected an object of names to strings, got {Describe(element)}");
            return null;
        }

        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            if (Scalar(property.Value) is { } text)
            {
                map[property.Name] = text;
            }
            else
            {
                error($"{field}.{property.Name}", $"expected a string or number, got {Describe(property.Value)}");
            }
        }

        return map;
    }

    /// <summary>Strings as they are; numbers and booleans as their JSON text (the seed wrote <c>"threads": 16</c> too).</summary>
    internal static string? Scalar(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => null,
    };

    internal static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{Truncate(element.GetString()!)}\"",
        JsonValueKind.Number => $"the number {element.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => $"{element.GetRawText()}",
        JsonValueKind.Array => $"a list of {element.GetArrayLength()}",
        JsonValueKind.Object => "an object",
        JsonValueKind.Null => "null",
        _ => element.ValueKind.ToString(),
    };

    internal static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";

    /// <summary>
    /// System.Text.Json's message without the position and path it appends (<c>LineNumber: 4 | BytePositionInLine: 6.</c>,
    /// <c>Path: $</c>): the error gives the line and column once, in its own words.
    /// </summary>
    internal static string FirstSentence(string message)
    {
        foreach (var marker in new[] { " LineNumber:", " Path:" })
        {
            var cut = message.IndexOf(marker, StringComparison.Ordinal);
            message = cut > 0 ? message[..cut] : message;
        }

        return message.TrimEnd();
    }
}

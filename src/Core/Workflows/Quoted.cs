using System.Text;

namespace Batchkeeper.Core.Workflows;

/// <summary>
/// Names read from a file (columns, fields, placeholders) as an error message may quote them: bounded in length and
/// with every control character escaped, so that an error can neither carry a file's contents nor forge a log line.
/// </summary>
public static class Quoted
{
    /// <summary>The longest name an error quotes in full.</summary>
    public const int MaxNameLength = 64;

    /// <summary>The most names an error lists.</summary>
    public const int MaxNames = 20;

    public static string Name(string name)
    {
        var text = name.Length > MaxNameLength ? name[..MaxNameLength] : name;
        var escaped = Escape(text);
        return name.Length > MaxNameLength ? escaped + "…" : escaped;
    }

    /// <summary>A list of names, each bounded, at most <see cref="MaxNames"/> of them and a count of the rest.</summary>
    public static string Names(IReadOnlyCollection<string> names)
    {
        var shown = string.Join(", ", names.Take(MaxNames).Select(Name));
        return names.Count > MaxNames ? $"{shown} and {names.Count - MaxNames} more" : shown;
    }

    /// <summary>Control characters (and the line and paragraph separators) written as <c>\n</c>, <c>\t</c> or <c>\u0000</c>.</summary>
    public static string Escape(string text)
    {
        if (!text.Any(IsUnsafe))
        {
            return text;
        }

        var result = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            result.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when IsUnsafe(c) => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }

        return result.ToString();
    }

    /// <summary>A character that must not appear raw in a log line or an error.</summary>
    public static bool IsUnsafe(char c) => char.IsControl(c) || c is '\u2028' or '\u2029';
}

using System.Text;

namespace Batchkeeper.Core.Workflows;

/// <summary>The seed format's <c>#</c> comments, which System.Text.Json's reader does not know.</summary>
internal static class HashComments
{
    /// <summary>
    /// Removes <c>#</c> comments (to the end of the line) outside JSON strings, as the seed tool allowed.
    /// <c>//</c> and <c>/* */</c> comments are left to the JSON reader.
    /// </summary>
    internal static string Strip(string text)
    {
        if (!text.Contains('#', StringComparison.Ordinal))
        {
            return text;
        }

        var result = new StringBuilder(text.Length);
        var inString = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (inString)
            {
                result.Append(c);
                if (c == '\\' && i + 1 < text.Length)
                {
                    result.Append(text[++i]);
                }
                else if (c == '"')
                {
                    inString = false;
                }
            }
            else if (c == '"')
            {
                inString = true;
                result.Append(c);
            }
            else if (c == '#')
            {
                // Keep the newline so line numbers in later errors stay right.
                while (i + 1 < text.Length && text[i + 1] != '\n')
                {
                    i++;
                }
            }
            else
            {
                result.Append(c);
            }
        }

        return result.ToString();
    }
}

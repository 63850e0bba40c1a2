using System.Text;
using Batchkeeper.Core.Workflows;

namespace Batchkeeper.Core.Planning;

/// <summary>
/// <c>{placeholder}</c> templates. <c>{{</c> and <c>}}</c> stand for literal braces.
/// Expansion happens in two phases: every placeholder but <c>{attempt}</c> when a workflow is planned
/// (so job names do not change between attempts), then <c>{attempt}</c> at submission.
/// </summary>
public static class Template
{
    /// <summary>The placeholder that is only known when a job is submitted.</summary>
    public const string Attempt = "attempt";

    private const string AttemptPlaceholder = "{" + Attempt + "}";

    /// <summary>
    /// Expands every placeholder found in <paramref name="values"/>; <c>{attempt}</c> and escaped braces are kept
    /// as they are for <see cref="Finalize"/>.
    /// </summary>
    /// <returns>The partly expanded template, or null with <paramref name="error"/> set.</returns>
    public static string? Expand(string template, IReadOnlyDictionary<string, string> values, out string? error)
    {
        error = null;
        if (template.IndexOfAny(['{', '}']) < 0)
        {
            return template;
        }

        // The planner expands every field of every slot (millions at an institute's scale): the text between braces is
        // copied a run at a time into a builder kept per thread, and a placeholder is looked up by its characters.
        var result = RentBuilder();
        for (var i = 0; i < template.Length; i++)
        {
            var run = template.AsSpan(i).IndexOfAny('{', '}');
            if (run != 0)
            {
                result.Append(template, i, run < 0 ? template.Length - i : run);
                if (run < 0)
                {
                    break;
                }

                i += run;
            }

            var c = template[i];
            if (c == '{' && i + 1 < template.Length && template[i + 1] == '{')
            {
                result.Append("{{");
                i++;
            }
            else if (c == '}' && i + 1 < template.Length && template[i + 1] == '}')
            {
                result.Append("}}");
                i++;
            }
            else if (c == '{')
            {
                var end = template.IndexOf('}', i + 1);
                if (end < 0)
                {
                    error = $"'{{' at position {i + 1} is not closed; write '{{{{' for a literal brace";
                    return null;
                }

                var name = template.AsSpan(i + 1, end - i - 1);
                if (name.SequenceEqual(Attempt))
                {
                    result.Append(AttemptPlaceholder);
                }
                else if (Lookup(values, name) is { } value)
                {
                    result.Append(Escape(value));
                }
                else
                {
                    error = UnknownPlaceholder(template, i, name.ToString(), values.Keys);
                    return null;
                }

                i = end;
            }
            else
            {
                error = $"'}}' at position {i + 1} has no opening brace; write '}}}}' for a literal brace";
                return null;
            }
        }

        return ReturnBuilder(result);
    }

    [ThreadStatic]
    private static StringBuilder? t_builder;

    private static StringBuilder RentBuilder()
    {
        var builder = t_builder ?? new StringBuilder(256);
        t_builder = null;
        return builder.Clear();
    }

    /// <summary>The builder's text; the builder is kept for the thread's next expansion unless it grew large.</summary>
    private static string ReturnBuilder(StringBuilder builder)
    {
        var text = builder.ToString();
        if (builder.Capacity <= 4096)
        {
            t_builder = builder;
        }

        return text;
    }

    /// <summary>A value by its name's characters, without making a string of the name when the values allow it.</summary>
    private static string? Lookup(IReadOnlyDictionary<string, string> values, ReadOnlySpan<char> name)
    {
        if (values is Dictionary<string, string> map && map.TryGetAlternateLookup<ReadOnlySpan<char>>(out var lookup))
        {
            return lookup.TryGetValue(name, out var found) ? found : null;
        }

        return values.TryGetValue(name.ToString(), out var value) ? value : null;
    }

    /// <summary>
    /// Why <c>{name}</c> at <paramref name="open"/> is not a placeholder, and what was probably meant: a near miss of a
    /// known name ("did you mean"), a shell's <c>${VAR}</c>, or text that is no name at all (JSON, awk), which wants
    /// escaped braces. Names from the file are quoted bounded and escaped (<see cref="Quoted"/>).
    /// </summary>
    private static string UnknownPlaceholder(string template, int open, string name, IEnumerable<string> valueNames)
    {
        var names = valueNames.Append(Attempt).ToArray();
        var known = Quoted.Names(names.Select(k => "{" + k + "}").ToArray());
        if (!LooksLikeName(name))
        {
            return $"'{{' at position {open + 1} starts {{{Quoted.Name(name)}}}, which is not a placeholder: write '{{{{' and '}}}}' for literal braces "
                + $"(JSON, awk or ${{VAR}} in a command); the placeholders are {known}";
        }

        var message = $"unknown placeholder {{{Quoted.Name(name)}}}";
        if (Closest(name, names) is { } guess)
        {
            message += $" (did you mean {{{guess}}}?)";
        }

        if (open > 0 && template[open - 1] == '$')
        {
            message += $"; for the shell's ${{{Quoted.Name(name)}}} write ${{{{{Quoted.Name(name)}}}}}";
        }

        return $"{message}; known: {known}";
    }

    /// <summary>What could be a misspelt name: no quotes, colons, commas, braces, line breaks or surrounding spaces.</summary>
    private static bool LooksLikeName(string name) =>
        name.Length > 0 && name.Trim().Length == name.Length && name.IndexOfAny(['"', '\'', ':', ',', ';', '=', '{', '(', '$', '\n', '\r']) < 0;

    /// <summary>
    /// The known name nearest to <paramref name="name"/> by edit distance (case ignored), when it is near enough to be a
    /// typo: at most a third of its length apart (at least one edit).
    /// </summary>
    private static string? Closest(string name, IReadOnlyList<string> names)
    {
        var lower = name.ToLowerInvariant();
        var limit = Math.Max(1, name.Length / 3);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in names)
        {
            var distance = Quickenshtein.Levenshtein.GetDistance(lower, candidate.ToLowerInvariant());
            if (distance <= limit && distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        return best is null ? null : Quoted.Name(best);
    }

    /// <summary>Replaces <c>{attempt}</c> and unescapes braces in a template that <see cref="Expand"/> produced.</summary>
    public static string Finalize(string expanded, int attempt)
    {
        if (expanded.IndexOfAny(['{', '}']) < 0)
        {
            return expanded;
        }

        // One left-to-right scan over Expand's tokens ("{{", "}}", "{attempt}"): replacing "}}" over the whole
        // string first would take the closing brace of "{attempt}" in "{attempt}}}" for half of an escape.
        var number = attempt.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var result = new StringBuilder(expanded.Length);
        for (var i = 0; i < expanded.Length; i++)
        {
            var c = expanded[i];
            if ((c == '{' || c == '}') && i + 1 < expanded.Length && expanded[i + 1] == c)
            {
                result.Append(c);
                i++;
            }
            else if (c == '{' && string.CompareOrdinal(expanded, i, AttemptPlaceholder, 0, AttemptPlaceholder.Length) == 0)
            {
                result.Append(number);
                i += AttemptPlaceholder.Length - 1;
            }
            else
            {
                result.Append(c);
            }
        }

        return result.ToString();
    }

    /// <summary>The names of the placeholders in a template (escaped braces are not placeholders; an unclosed one is left out).</summary>
    public static IEnumerable<string> Placeholders(string template)
    {
        for (var i = 0; i < template.Length; i++)
        {
            if (template[i] is '{' or '}' && i + 1 < template.Length && template[i + 1] == template[i])
            {
                i++;
            }
            else if (template[i] == '{')
            {
                var end = template.IndexOf('}', i + 1);
                if (end < 0)
                {
                    yield break;
                }

                yield return template[(i + 1)..end];
                i = end;
            }
        }
    }

    /// <summary>True when the expanded template still depends on the attempt number.</summary>
    public static bool UsesAttempt(string expanded) => Finalize(expanded, 1) != Finalize(expanded, 2);

    private static string Escape(string value) =>
        value.IndexOfAny(['{', '}']) < 0 ? value : value.Replace("{", "{{", StringComparison.Ordinal).Replace("}", "}}", StringComparison.Ordinal);
}

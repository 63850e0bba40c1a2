using System.Text.Json;
using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Snapshots;
using Spectre.Console;

namespace Batchkeeper.Daemon.Cli;

/// <summary>How the commands print things they share.</summary>
internal static class CliFormat
{
    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>A slot state as the snapshot writes it (<c>running</c>, <c>failed_permanent</c>).</summary>
    public static string Wire(SlotState state) => state.ToWire();

    /// <summary>
    /// Invalid slots, one line per analysis and error: a typo shared by 502 samples is one line with the count and the
    /// first samples, not 502 identical lines.
    /// </summary>
    public static IEnumerable<string> InvalidSlots(IEnumerable<PlannedSlot> invalid)
    {
        foreach (var group in invalid.GroupBy(s => (s.Analysis, s.Error)))
        {
            var samples = group.Select(s => s.Sample).ToArray();
            yield return samples.Length == 1
                ? $"slot {samples[0]} / {group.Key.Analysis}: {group.Key.Error}"
                : $"{samples.Length} slots of {group.Key.Analysis} (samples {Few(samples)}): {group.Key.Error}";
        }
    }

    /// <summary><c>1 analysis</c>, <c>2 analyses</c>: a count with its noun in the right number.</summary>
    public static string Count(int count, string one, string many) => $"{count} {(count == 1 ? one : many)}";

    /// <summary><c>a, b, c and 499 more</c>: the first three names and how many others.</summary>
    public static string Few(IReadOnlyCollection<string> names) =>
        names.Count <= 3 ? string.Join(", ", names) : $"{string.Join(", ", names.Take(3))} and {names.Count - 3} more";

    /// <summary>A command as a shell would take it back: a word with spaces or shell characters in single quotes.</summary>
    public static string ShellWords(IEnumerable<string> words) => string.Join(' ', words.Select(word =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%^".Contains(c, StringComparison.Ordinal))
            ? word
            : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'"));

    /// <summary>
    /// A table as plain text (Spectre.Console lays out the columns): as wide as the terminal on one, unbounded into a
    /// pipe or a file, so a row is never wrapped there; no colour, no trailing spaces. Cell texts are not markup.
    /// </summary>
    public static void Write(CliContext context, Table table)
    {
        using var text = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(text),
        });
        console.Profile.Width = context.OutputIsTerminal && !Console.IsOutputRedirected ? Math.Max(80, Console.WindowWidth) : 1000;
        console.Write(table);
        foreach (var line in text.ToString().Split('\n'))
        {
            if (line.TrimEnd() is { Length: > 0 } trimmed)
            {
                context.Output.WriteLine(trimmed);
            }
        }
    }

    /// <summary>A row of plain texts: Spectre's <c>AddRow(string…)</c> would read <c>[x]</c> in a file name as markup.</summary>
    public static void AddRow(Table table, IEnumerable<string> cells) => table.AddRow(cells.Select(c => new Text(c)));

    /// <summary><c>12s</c>, <c>5m</c>, <c>3h</c>: how long ago <paramref name="at"/> was.</summary>
    public static string Age(DateTimeOffset at, DateTimeOffset now)
    {
        var age = now - at;
        return age < TimeSpan.FromMinutes(1) ? $"{Math.Max(0, (int)age.TotalSeconds)}s"
            : age < TimeSpan.FromHours(1) ? $"{(int)age.TotalMinutes}m"
            : $"{(int)age.TotalHours}h";
    }
}

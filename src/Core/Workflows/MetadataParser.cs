using System.Text;
using System.Text.Json;

namespace Batchkeeper.Core.Workflows;

/// <summary>Reads a project's samples from CSV (RFC 4180: quoted fields, BOM, CRLF, blank lines) or JSON records.</summary>
public static class MetadataParser
{
    /// <summary>The column that names a sample.</summary>
    public const string SampleColumn = "sample_name";

    /// <summary>Parses CSV text with a header row.</summary>
    /// <exception cref="InputException">Malformed CSV, no sample_name column, empty or duplicate sample names.</exception>
    public static IReadOnlyList<Sample> ParseCsv(string text, string fileName, string sampleColumn = SampleColumn)
    {
        var rows = ReadCsv(text, fileName);
        if (rows.Count == 0)
        {
            throw new InputException([new InputError(fileName, "", "is empty; expected a header row with a sample_name column and one row per sample")]);
        }

        var header = rows[0].Fields.Select(h => h.Trim()).ToArray();
        var errors = new List<InputError>();
        foreach (var duplicate in header.GroupBy(h => h).Where(g => g.Count() > 1))
        {
            errors.Add(new InputError(fileName, "header", $"column '{Quoted.Name(duplicate.Key)}' appears {duplicate.Count()} times"));
        }

        if (!header.Contains(sampleColumn))
        {
            errors.Add(new InputError(fileName, "header", $"no '{sampleColumn}' column; the columns are: {Quoted.Names(header)}"));
            throw new InputException(errors);
        }

        var records = new List<(string Where, IReadOnlyDictionary<string, string> Record)>();
        foreach (var row in rows.Skip(1))
        {
            if (row.Fields.Count != header.Length)
            {
                errors.Add(new InputError(fileName, $"line {row.Line}", $"has {row.Fields.Count} fields; the header has {header.Length}"));
                continue;
            }

            var record = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < header.Length; i++)
            {
                record[header[i]] = row.Fields[i];
            }

            records.Add(($"line {row.Line}", record));
        }

        if (errors.Count > 0)
        {
            throw new InputException(errors);
        }

        return FromRecords(records, fileName, sampleColumn);
    }

    /// <summary>Parses a JSON list of records, as <c>batchkeeper import</c> writes <c>metadata.json</c>.</summary>
    public static IReadOnlyList<Sample> ParseJson(string text, string fileName)
    {
        List<(string, IReadOnlyDictionary<string, string>)> records = [];
        try
        {
            using var document = JsonDocument.Parse(text, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw new InputException([new InputError(fileName, "", $"expected a JSON list of sample records, got {WorkflowParser.Describe(document.RootElement)}")]);
            }

            var errors = new List<InputError>();
            var i = 0;
            foreach (var item in document.RootElement.EnumerateArray())
            {
                var field = $"[{i++}]";
                if (item.ValueKind != JsonValueKind.Object)
                {
                    errors.Add(new InputError(fileName, field, $"expected a sample record (an object), got {WorkflowParser.Describe(item)}"));
                    continue;
                }

                var record = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var property in item.EnumerateObject())
                {
                    record[property.Name] = property.Value.ValueKind switch
                    {
                        JsonValueKind.String => property.Value.GetString()!,
                        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => property.Value.GetRawText(),
                        JsonValueKind.Null => "",
                        _ => AddError(errors, new InputError(fileName, $"{field}.{property.Name}", $"expected a string or number, got {WorkflowParser.Describe(property.Value)}")),
                    };
                }

                records.Add((field, record));
            }

            if (errors.Count > 0)
            {
                throw new InputException(errors);
            }
        }
        catch (JsonException e)
        {
            throw new InputException([new InputError(fileName, "", $"is not valid JSON at line {(e.LineNumber ?? 0) + 1}")]);
        }
        catch (ArgumentException)
        {
            throw new InputException([new InputError(fileName, "", "is not valid text (it holds a lone UTF-16 surrogate)")]);
        }

        return FromRecords(records, fileName, SampleColumn);
    }

    /// <summary>Turns records into samples, checking that each names a sample and that names are unique.</summary>
    public static IReadOnlyList<Sample> FromRecords(
        IEnumerable<(string Where, IReadOnlyDictionary<string, string> Record)> records, string fileName, string sampleColumn = SampleColumn)
    {
        var samples = new List<Sample>();
        var errors = new List<InputError>();
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (where, record) in records)
        {
            if (ControlCharacter(record, fileName, where, sampleColumn) is { } unsafeValue)
            {
                // A NUL cuts a command short and breaks a path; a line break forges log lines: neither is data.
                errors.Add(unsafeValue);
                continue;
            }

            if (!record.TryGetValue(sampleColumn, out var name) || string.IsNullOrWhiteSpace(name))
            {
                errors.Add(new InputError(fileName, $"{where}.{sampleColumn}", "required: every sample needs a non-empty name"));
                continue;
            }

            name = name.Trim();
            if (name.Any(char.IsControl))
            {
                errors.Add(new InputError(fileName, $"{where}.{sampleColumn}", "sample names must be printable text (no control characters)"));
                continue;
            }

            if (seen.TryGetValue(name, out var first))
            {
                errors.Add(new InputError(fileName, $"{where}.{sampleColumn}", $"duplicate sample '{name}' (first at {first})"));
                continue;
            }

            seen[name] = where;
            var columns = new Dictionary<string, string>(record, StringComparer.Ordinal) { [SampleColumn] = name };
            samples.Add(new Sample(name, columns));
        }

        if (samples.Count == 0 && errors.Count == 0)
        {
            errors.Add(new InputError(fileName, "", "has no samples"));
        }

        if (errors.Count > 0)
        {
            throw new InputException(errors);
        }

        return samples;
    }

    /// <summary>
    /// The first column name or value holding a control character, as an error. Tabs and line breaks are text a
    /// quoted CSV field may hold (a description); they are escaped wherever they are logged. The sample name has
    /// a stricter rule of its own.
    /// </summary>
    private static InputError? ControlCharacter(IReadOnlyDictionary<string, string> record, string fileName, string where, string sampleColumn)
    {
        foreach (var (column, value) in record)
        {
            if (column == sampleColumn)
            {
                continue;
            }

            if (column.Any(Quoted.IsUnsafe))
            {
                return new InputError(fileName, where, $"the column name '{Quoted.Name(column)}' holds a control character; names and values must be printable text");
            }

            var at = -1;
            for (var i = 0; i < value.Length && at < 0; i++)
            {
                at = char.IsControl(value[i]) && value[i] is not ('\t' or '\n' or '\r') ? i : -1;
            }

            if (at >= 0)
            {
                return new InputError(fileName, $"{where}.{Quoted.Name(column)}",
                    $"holds the control character U+{(int)value[at]:X4} at position {at + 1}; values must be printable text (no NUL or other control character but tabs and line breaks)");
            }
        }

        return null;
    }

    private static string AddError(List<InputError> errors, InputError error)
    {
        errors.Add(error);
        return "";
    }

    private sealed record CsvRow(int Line, List<string> Fields);

    /// <summary>RFC 4180 with the tolerance people need: a BOM, CRLF or LF, blank lines skipped, quotes doubled inside quoted fields.</summary>
    private static List<CsvRow> ReadCsv(string text, string fileName)
    {
        var rows = new List<CsvRow>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var line = 1;
        var rowLine = 1;
        var inQuotes = false;
        var quotedField = false;
        var i = text.Length > 0 && text[0] == '\uFEFF' ? 1 : 0;

        void EndRow()
        {
            fields.Add(field.ToString());
            field.Clear();
            var blank = fields.Count == 1 && fields[0].Length == 0 && !quotedField;
            if (!blank)
            {
                rows.Add(new CsvRow(rowLine, fields));
            }

            fields = [];
            quotedField = false;
        }

        for (; i < text.Length; i++)
        {
            var c = text[i];
            if (inQuotes)
            {
                if (c == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"')
                    {
                        field.Append('"');
                        i++;
                    }
                    else
                    {
                        inQuotes = false;
                    }
                }
                else
                {
                    if (c == '\n')
                    {
                        line++;
                    }

                    field.Append(c);
                }

                continue;
            }

            switch (c)
            {
                case '"' when field.Length == 0:
                    inQuotes = true;
                    quotedField = true;
                    break;
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    break;
                case '\r' when i + 1 < text.Length && text[i + 1] == '\n':
                    break;
                case '\n' or '\r':
                    EndRow();
                    line++;
                    rowLine = line;
                    break;
                default:
                    field.Append(c);
                    break;
            }
        }

        if (inQuotes)
        {
            throw new InputException([new InputError(fileName, $"line {rowLine}", "a quoted field is never closed")]);
        }

        if (field.Length > 0 || fields.Count > 0 || quotedField)
        {
            EndRow();
        }

        return rows;
    }
}

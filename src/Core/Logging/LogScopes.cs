using System.Collections;
using Microsoft.Extensions.Logging;

namespace Batchkeeper.Core.Logging;

/// <summary>
/// The logging scopes of a pass and of a slot. Every line logged inside one (the Core's, the Daemon's, the AWS
/// clients' retry lines) carries the workflow and slot as properties, and as one <c>Where</c> text such as
/// <c> [study/wordcount.json sample s3 analysis count job 1f2e]</c> that the log templates print after the message,
/// so every line can be grepped. Scopes flow with the async context, into parallel chains and HTTP handlers.
/// </summary>
public static class LogScopes
{
    public const string WhereProperty = "Where";

    /// <summary>Around one pass of one workflow.</summary>
    public static IDisposable? Workflow(ILogger logger, string project, string file) =>
        logger.BeginScope(new Scope(project, file, null, null, null));

    /// <summary>
    /// Around one slot's backend calls (submit, terminate). Opened only there, never around plain iteration, so a
    /// steady pass over many slots allocates no scopes.
    /// </summary>
    public static IDisposable? Slot(ILogger logger, string project, string file, string sample, string analysis, string? jobId = null) =>
        logger.BeginScope(new Scope(project, file, sample, analysis, jobId));

    /// <summary>A scope's properties; the innermost scope's <c>Where</c> names everything, so it alone is printed.</summary>
    private sealed class Scope(string project, string file, string? sample, string? analysis, string? jobId)
        : IReadOnlyList<KeyValuePair<string, object?>>
    {
        private readonly KeyValuePair<string, object?>[] _items = Items(project, file, sample, analysis, jobId);

        public int Count => _items.Length;

        public KeyValuePair<string, object?> this[int index] => _items[index];

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_items).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => (string)_items[^1].Value!;

        private static KeyValuePair<string, object?>[] Items(string project, string file, string? sample, string? analysis, string? jobId)
        {
            var items = new List<KeyValuePair<string, object?>> { new("Project", project), new("File", file) };
            var where = $" [{project}/{file}";
            if (sample is not null && analysis is not null)
            {
                items.Add(new("Sample", sample));
                items.Add(new("Analysis", analysis));
                where += $" sample {sample} analysis {analysis}";
            }

            if (jobId is not null)
            {
                items.Add(new("JobId", jobId));
                where += $" job {jobId}";
            }

            items.Add(new(WhereProperty, where + "]"));
            return [.. items];
        }
    }
}

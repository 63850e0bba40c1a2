using System.Security.Cryptography;
using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Ports;
using Batchkeeper.Core.Reconciliation;
using Batchkeeper.Core.Workflows;
using Batchkeeper.Daemon.Snapshots;
using Batchkeeper.Daemon.Watching;

namespace Batchkeeper.Daemon.Workflows;

/// <summary>Reads a workflow file, its project's metadata and its retry requests from disk.</summary>
public sealed class FileWorkflowSource : IWorkflowSource
{
    /// <summary>
    /// Parsed metadata by file path and content hash: the workflows of a project share one parse of its
    /// metadata.csv, and an unchanged file is not parsed again on every pass.
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string Sha256, IReadOnlyList<Sample> Samples)> _metadata =
        new(StringComparer.Ordinal);

    public async Task<WorkflowRead> ReadAsync(WorkflowLocation workflow, CancellationToken cancellationToken)
    {
        var path = FileSnapshotStore.WorkflowPath(workflow);
        try
        {
            return new WorkflowRead.Loaded(await LoadAsync(path, cancellationToken));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return new WorkflowRead.Gone();
        }
        catch (InputException e)
        {
            return new WorkflowRead.Invalid(e.Errors, WrittenAt(e.Errors, workflow.ProjectDirectory, path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new WorkflowRead.Unreadable($"{workflow.FileName}: cannot be read: {e.Message}");
        }
    }

    /// <summary>
    /// When the files the errors are in were last written, the newest of them: a file just written may be half-copied and
    /// is read again, but a metadata file broken for a day is not, even beside a workflow file dropped a moment ago.
    /// </summary>
    private static DateTimeOffset WrittenAt(IReadOnlyList<InputError> errors, string projectDirectory, string workflowPath)
    {
        var newest = DateTime.MinValue;
        foreach (var file in errors.Select(e => e.File).Distinct(StringComparer.Ordinal))
        {
            var path = Path.Combine(projectDirectory, file);
            if (File.Exists(path) && File.GetLastWriteTimeUtc(path) is var written && written > newest)
            {
                newest = written;
            }
        }

        return new DateTimeOffset(newest == DateTime.MinValue ? File.GetLastWriteTimeUtc(workflowPath) : newest, TimeSpan.Zero);
    }

    public Task<IReadOnlyList<Sample>> ReadSamplesAsync(Workflow workflow, WorkflowLocation at, CancellationToken cancellationToken) =>
        LoadSamplesAsync(workflow, at.ProjectDirectory, at.FileName, cancellationToken);

    public Task<RetryRequestSet> ReadRetryRequestsAsync(WorkflowLocation workflow, CancellationToken cancellationToken) =>
        Task.FromResult(RetryRequestFile.Read(FileSnapshotStore.WorkflowPath(workflow)));

    public Task ConsumeRetryRequestsAsync(WorkflowLocation workflow, string version, CancellationToken cancellationToken)
    {
        RetryRequestFile.Consume(FileSnapshotStore.WorkflowPath(workflow), version);
        return Task.CompletedTask;
    }

    public Task<RetryRequest> AddRetryRequestAsync(
        WorkflowLocation workflow, string? sample, string? analysis, DateTimeOffset now, CancellationToken cancellationToken) =>
        RetryRequestFile.AddAsync(FileSnapshotStore.WorkflowPath(workflow), sample, analysis, now, cancellationToken);

    /// <summary>Workflow and metadata files larger than this are refused rather than read into memory.</summary>
    public const long MaxFileBytes = Files.ProjectFile.MaxInputBytes;

    /// <exception cref="InputException">The workflow or its metadata cannot be used.</exception>
    /// <exception cref="FileNotFoundException">The workflow file is gone.</exception>
    public async Task<LoadedWorkflow> LoadAsync(string path, CancellationToken cancellationToken)
    {
        var fileName = Path.GetFileName(path);
        var project = WorkflowFiles.ProjectOf(path);
        var bytes = await ReadLimitedAsync(path, fileName, cancellationToken);
        var text = DecodeUtf8(bytes, fileName);
        var workflow = WorkflowParser.Parse(text, fileName, project);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var (samples, samplesSha) = await ReadSamplesAsync(workflow, Path.GetDirectoryName(path)!, fileName, cancellationToken);
        return new LoadedWorkflow(workflow, samples, sha, samplesSha ?? sha);
    }

    /// <summary>Reads samples as the workflow says: inline, a named file, or metadata.csv then metadata.json.</summary>
    public async Task<IReadOnlyList<Sample>> LoadSamplesAsync(Workflow workflow, string projectDirectory, string workflowFile, CancellationToken cancellationToken) =>
        (await ReadSamplesAsync(workflow, projectDirectory, workflowFile, cancellationToken)).Samples;

    /// <summary>The samples, and the hash of the metadata file they came from (null when inline).</summary>
    private async Task<(IReadOnlyList<Sample> Samples, string? Sha256)> ReadSamplesAsync(
        Workflow workflow, string projectDirectory, string workflowFile, CancellationToken cancellationToken)
    {
        if (workflow.Samples.Inline is { } inline)
        {
            return (MetadataParser.FromRecords(inline.Select((r, i) => ($"samples[{i}]", r)), workflowFile), null);
        }

        string[] candidates = workflow.Samples.FileName is { } named ? [named] : WorkflowFiles.MetadataFiles;
        foreach (var candidate in candidates)
        {
            var path = Path.Combine(projectDirectory, candidate);
            if (!Files.ProjectFile.Exists(path))
            {
                continue;
            }

            byte[] bytes;
            try
            {
                bytes = await ReadLimitedAsync(path, candidate, cancellationToken);
            }
            catch (FileNotFoundException)
            {
                continue;
            }

            var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
            var key = Path.GetFullPath(path);
            if (_metadata.TryGetValue(key, out var cached) && cached.Sha256 == sha)
            {
                return (cached.Samples, sha);
            }

            var text = DecodeUtf8(bytes, candidate);
            var samples = candidate.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
                ? MetadataParser.ParseJson(text, candidate)
                : MetadataParser.ParseCsv(text, candidate);
            _metadata[key] = (sha, samples);
            return (samples, sha);
        }

        var expected = workflow.Samples.FileName is { } file
            ? $"the metadata file '{file}' does not exist in the project folder"
            : "no samples: put metadata.csv or metadata.json in the project folder, or set 'samples'";
        throw new InputException([new InputError(workflowFile, "samples", expected)]);
    }

    /// <summary>
    /// A file of the project folder, by the daemon's one rule for reading (<see cref="Files.ProjectFile"/>): a regular
    /// file that stays inside the projects root (the folder above the project's), at most <see cref="MaxFileBytes"/>.
    /// </summary>
    private static Task<byte[]> ReadLimitedAsync(string path, string fileName, CancellationToken cancellationToken)
    {
        var projectsRoot = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(path)))!;
        return Files.ProjectFile.ReadAsync(path, projectsRoot, fileName, MaxFileBytes, cancellationToken);
    }

    private static string DecodeUtf8(byte[] bytes, string fileName)
    {
        try
        {
            var text = new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
            return text.Length > 0 && text[0] == '\uFEFF' ? text[1..] : text;
        }
        catch (System.Text.DecoderFallbackException)
        {
            throw new InputException([new InputError(fileName, "", "is not UTF-8 text")]);
        }
    }
}

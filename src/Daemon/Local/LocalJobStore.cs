using System.Text.Json;
using System.Text.Json.Serialization;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Snapshots;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Local;

/// <summary>
/// The local jobs' records: one JSON file per job in <c>&lt;work&gt;/jobs</c>, written (atomically) before the job is
/// acted on, and kept in memory. Every member is used under <see cref="Gate"/>. The constructor does no I/O:
/// <see cref="Load"/> reads the folder once, at start.
/// </summary>
public sealed class LocalJobStore
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly Dictionary<string, LocalJobRecord> _jobs = new(StringComparer.Ordinal);
    private readonly ILogger<LocalJobStore> _logger;
    private readonly string _jobsDirectory;
    private readonly string _logsDirectory;

    public LocalJobStore(IOptions<BatchkeeperOptions> options, ILogger<LocalJobStore> logger)
    {
        _logger = logger;
        var root = Path.GetFullPath(options.Value.Local.WorkDirectory);
        _jobsDirectory = Path.Combine(root, "jobs");
        _logsDirectory = LogFolder(options.Value);
    }

    /// <summary>Where the local jobs' logs are written: <c>&lt;Local:WorkDirectory&gt;/logs</c>, the one folder job logs are read from.</summary>
    public static string LogFolder(BatchkeeperOptions options) => Path.Combine(Path.GetFullPath(options.Local.WorkDirectory), "logs");

    /// <summary>The one lock of the local backend: the records, the running processes and the state machine.</summary>
    public object Gate { get; } = new();

    public IEnumerable<LocalJobRecord> All => _jobs.Values;

    public LocalJobRecord? Find(string jobId) => _jobs.GetValueOrDefault(jobId);

    public string LogPathFor(string jobId) => Path.Combine(_logsDirectory, jobId + ".log");

    /// <summary>Where a job's supervisor writes the command's exit code.</summary>
    public string ExitCodePathFor(string jobId) => Path.Combine(_jobsDirectory, jobId + ".exitcode");

    /// <summary>Writes a new record, then keeps it.</summary>
    public void Add(LocalJobRecord record)
    {
        Persist(record);
        _jobs[record.JobId] = record;
    }

    /// <summary>Replaces a record's file with its current state.</summary>
    public void Persist(LocalJobRecord record)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(record, JsonOptions);
        AtomicFile.Write(Path.Combine(_jobsDirectory, record.JobId + ".json"), bytes);
    }

    /// <summary>Creates the folders and reads every record in them; unreadable ones are logged and skipped.</summary>
    public IReadOnlyList<LocalJobRecord> Load()
    {
        Directory.CreateDirectory(_jobsDirectory);
        Directory.CreateDirectory(_logsDirectory);
        var loaded = new List<LocalJobRecord>();
        foreach (var path in Directory.EnumerateFiles(_jobsDirectory, "*.json"))
        {
            if (Read(path) is { } record)
            {
                _jobs[record.JobId] = record;
                loaded.Add(record);
            }
        }

        return loaded;
    }

    private LocalJobRecord? Read(string path)
    {
        LocalJobRecord? record;
        try
        {
            // The daemon's one rule for reading files: a regular file inside the jobs folder, capped, with a deadline.
            record = JsonSerializer.Deserialize<LocalJobRecord>(
                Files.ProjectFile.Read(path, _jobsDirectory, Path.GetFileName(path), LocalJobRecord.MaxBytes), JsonOptions);
        }
        catch (JsonException e)
        {
            Log.LocalRecordUnreadable(_logger, path, $"not a job record (at {e.Path ?? "$"}, line {(e.LineNumber ?? 0) + 1})");
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.LocalRecordUnreadable(_logger, path, e.Message);
            return null;
        }
        catch (Core.Workflows.InputException e)
        {
            Log.LocalRecordUnreadable(_logger, path, string.Join("; ", e.Errors.Select(error => error.Message)));
            return null;
        }

        var problem = record is null ? "not a job record (null)" : LocalJobRecord.Problem(record, Path.GetFileNameWithoutExtension(path));
        if (problem is not null)
        {
            Log.LocalRecordUnreadable(_logger, path, problem);
            return null;
        }

        return record;
    }
}

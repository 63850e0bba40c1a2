using System.Globalization;
using System.Text;
using System.Text.Json;
using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Snapshots;
using Batchkeeper.Core.Workflows;
using Batchkeeper.Daemon.Aws;
using Batchkeeper.Daemon.Aws.Batch;
using Batchkeeper.Daemon.Aws.Batch.Model;
using Batchkeeper.Daemon.Hosting;
using Batchkeeper.Daemon.Reconciliation;
using Batchkeeper.Daemon.Snapshots;
using Batchkeeper.Daemon.Watching;
using Microsoft.Extensions.Configuration;

namespace Batchkeeper.Daemon.Cli;

/// <summary>Exit codes of every command.</summary>
public static class ExitCodes
{
    /// <summary>Done, and what was checked is fine.</summary>
    public const int Ok = 0;

    /// <summary>Done, but what was checked is not fine (an invalid workflow, failed slots).</summary>
    public const int NotOk = 1;

    /// <summary>The command could not be done: bad arguments, unusable input or configuration.</summary>
    public const int Usage = 2;

    /// <summary>The daemon stopped because something broke (a service failed): systemd's Restart=on-failure restarts it.</summary>
    public const int Failure = 1;
}

/// <summary>
/// The commands besides <c>run</c>. They work on the files the daemon shares with people (workflows, snapshots,
/// request files), so they work whether the daemon runs or not. Output is plain text, one fact a line.
/// </summary>
public sealed class CliCommands(TextWriter output, TextWriter error, TextReader input, IConfiguration configuration, string? projectsOverride)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private readonly BatchkeeperOptions _options = configuration.GetSection(BatchkeeperOptions.Section).Get<BatchkeeperOptions>() ?? new BatchkeeperOptions();

    public string ProjectsRoot => Path.GetFullPath(projectsOverride ?? _options.ProjectsDirectory);

    private int Fail(int code, string message)
    {
        error.WriteLine($"batchkeeper: {message}");
        return code;
    }

    private bool Exists(string path, out int code)
    {
        code = File.Exists(path) ? ExitCodes.Ok : Fail(ExitCodes.Usage, $"{path}: no such file");
        return code == ExitCodes.Ok;
    }

    /// <summary><c>validate</c>: parses and expands every slot; prints the first slots and every error.</summary>
    public async Task<int> ValidateAsync(string workflowPath, int show, bool aws, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(workflowPath);
        if (!Exists(path, out var code))
        {
            return code;
        }

        LoadedWorkflow loaded;
        try
        {
            loaded = await WorkflowLoader.LoadAsync(path, cancellationToken);
        }
        catch (InputException e)
        {
            foreach (var problem in e.Errors)
            {
                error.WriteLine(problem);
            }

            output.WriteLine($"{Path.GetFileName(path)}: invalid ({e.Errors.Count} errors)");
            return ExitCodes.NotOk;
        }

        var location = new WorkflowLocation(WorkflowFiles.ProjectOf(path), Path.GetFileName(path), Path.GetDirectoryName(path)!);
        var plan = WorkflowPlanner.Plan(loaded.Workflow, loaded.Samples, location, _options.Retry.ToLimits());
        var invalid = plan.Slots.Where(s => s.Spec is null).ToArray();
        output.WriteLine($"workflow {plan.WorkflowName}: {loaded.Samples.Count} samples × {plan.Analyses.Count} analyses = {plan.Slots.Count} slots, {invalid.Length} invalid");
        foreach (var note in loaded.Workflow.Notes)
        {
            output.WriteLine($"note: {note}");
        }

        foreach (var slot in plan.Slots.Where(s => s.Spec is not null).Take(show))
        {
            var spec = slot.Spec!;
            output.WriteLine($"slot {slot.Sample} / {slot.Analysis}: job {spec.JobName}");
            output.WriteLine($"  queue {spec.Job.Queue}, definition {spec.Job.JobDefinition}, vcpus {spec.Job.Vcpus?.ToString(CultureInfo.InvariantCulture) ?? "-"}, memory {spec.Job.MemoryMiB?.ToString(CultureInfo.InvariantCulture) ?? "-"}");
            if (spec.Job.Command is { } command)
            {
                output.WriteLine($"  command {string.Join(' ', command.Select(c => Template.Finalize(c, 1)))}");
            }

            output.WriteLine($"  outputs {string.Join(' ', spec.Outputs.Select(o => o.Uri))}");
        }

        foreach (var slot in invalid)
        {
            error.WriteLine($"slot {slot.Sample} / {slot.Analysis}: {slot.Error}");
        }

        // s3:// outputs with the Local backend configured (unless --aws asks about AWS anyway): the daemon could not check them.
        if (!aws && Outputs.BackendOutputs.Unsupported(loaded.Workflow, _options.Backend, Path.GetFileName(path)) is { } unsupported)
        {
            error.WriteLine(unsupported);
            return ExitCodes.NotOk;
        }

        var missing = 0;
        if (aws)
        {
            try
            {
                missing = await CheckOnBatchAsync(plan, cancellationToken);
            }
            catch (Exception e) when (AwsFailure(e) is { } failure)
            {
                return Fail(failure.Code, failure.Message);
            }
        }

        return invalid.Length == 0 && missing == 0 ? ExitCodes.Ok : ExitCodes.NotOk;
    }

    private AwsOptions AwsSettings => configuration.GetSection(AwsOptions.SectionName).Get<AwsOptions>() ?? new AwsOptions();

    /// <summary>
    /// What to tell the user when a call to AWS could not be made or was refused, and the exit code; null for anything
    /// else (a bug, which should show its stack trace). Configuration and credential problems are the user's to fix (2);
    /// an unreachable or failing service is reported as not OK (1).
    /// </summary>
    private static (int Code, string Message)? AwsFailure(Exception exception) => exception switch
    {
        AwsConfigurationException => (ExitCodes.Usage, exception.Message),
        Amazon.Runtime.AmazonClientException => (ExitCodes.Usage, $"AWS credentials: {exception.Message}"),
        BatchServiceException { IsClientError: true } => (ExitCodes.Usage, exception.Message),
        BatchServiceException or CloudWatchLogsException => (ExitCodes.NotOk, exception.Message),
        HttpRequestException or TimeoutException => (ExitCodes.NotOk, $"cannot reach AWS: {exception.Message}"),
        _ => null,
    };

    /// <summary><c>validate --aws</c>: every queue must exist and be ENABLED, every job definition must exist and be ACTIVE.</summary>
    private async Task<int> CheckOnBatchAsync(WorkflowPlan plan, CancellationToken cancellationToken)
    {
        using var client = new BatchClient(AwsSettings);
        var specs = plan.Slots.Where(s => s.Spec is not null).Select(s => s.Spec!).ToArray();
        var problems = 0;

        var queues = specs.Select(s => s.Job.Queue).Distinct(StringComparer.Ordinal).ToArray();
        var found = (await client.DescribeJobQueuesAsync(new DescribeJobQueuesRequest { JobQueues = queues }, cancellationToken)).JobQueues;
        foreach (var queue in queues)
        {
            var detail = found.FirstOrDefault(q => q.JobQueueName == queue || q.JobQueueArn == queue);
            if (detail is null)
            {
                error.WriteLine($"queue {queue}: not found on AWS Batch ({client.Region})");
                problems++;
            }
            else
            {
                output.WriteLine($"queue {queue}: {detail.State}");
                problems += detail.State == "ENABLED" ? 0 : 1;
            }
        }

        foreach (var definition in specs.Select(s => s.Job.JobDefinition).Distinct(StringComparer.Ordinal))
        {
            var name = WorkflowParser.DefinitionNameOf(definition);
            var revisions = (await client.DescribeJobDefinitionsAsync(new DescribeJobDefinitionsRequest { JobDefinitionName = name }, cancellationToken)).JobDefinitions;
            var revision = definition.Contains(':', StringComparison.Ordinal) ? definition[(definition.LastIndexOf(':') + 1)..] : null;
            var match = revisions.Where(d => d.Status != "INACTIVE" && (revision is null || d.Revision.ToString(CultureInfo.InvariantCulture) == revision)).ToArray();
            if (match.Length == 0)
            {
                error.WriteLine($"job definition {definition}: not found on AWS Batch ({client.Region})");
                problems++;
            }
            else
            {
                output.WriteLine($"job definition {definition}: found");
            }
        }

        return problems;
    }

    /// <summary><c>status --watch</c>: the status again every <see cref="FollowInterval"/>, until interrupted (then exit 0).</summary>
    public async Task<int> WatchStatusAsync(string workflowPath, bool json, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await output.WriteLineAsync($"--- {DateTimeOffset.Now:HH:mm:ss}");
                await StatusAsync(workflowPath, json, cancellationToken);
                await output.FlushAsync(cancellationToken);
                await Task.Delay(FollowInterval, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            return ExitCodes.Ok;
        }
    }

    /// <summary><c>status</c>: counts per state, then the slots that need attention, from the snapshot.</summary>
    public async Task<int> StatusAsync(string workflowPath, bool json, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(workflowPath);
        var snapshotPath = SnapshotStore.PathFor(path);
        if (!File.Exists(snapshotPath))
        {
            return Fail(ExitCodes.NotOk, $"{snapshotPath}: no snapshot yet: the daemon has not reconciled {Path.GetFileName(path)} (is it running, and is the file under the projects folder?)");
        }

        if (json)
        {
            output.WriteLine(await File.ReadAllTextAsync(snapshotPath, cancellationToken));
            return ExitCodes.Ok;
        }

        var snapshot = await SnapshotStore.LoadAsync(path, cancellationToken);
        if (snapshot is null)
        {
            return Fail(ExitCodes.Usage, $"{snapshotPath}: not a batchkeeper.status/1 snapshot");
        }

        var s = snapshot.Summary;
        output.WriteLine($"{snapshot.Project}/{snapshot.File} ({snapshot.Workflow ?? "?"}, {snapshot.Backend}) reconciled {Age(snapshot.ReconciledAt)} ago");
        output.WriteLine($"total {s.Total}  complete {s.Complete}  running {s.Running}  queued {s.Queued}  waiting {s.Waiting}  retrying {s.Retrying}  failed {s.Failed}  blocked {s.Blocked}  invalid {s.Invalid}  cancelled {s.Cancelled}");
        foreach (var e in snapshot.Errors)
        {
            output.WriteLine($"error: {e.Message}");
        }

        var attention = snapshot.Slots.Where(x => x.Stuck || x.State is SlotState.FailedPermanently or SlotState.Blocked or SlotState.Invalid or SlotState.Retrying).ToArray();
        foreach (var slot in attention)
        {
            var state = slot.Stuck ? "stuck" : Wire(slot.State);
            output.WriteLine($"{state,-18} {slot.Sample} / {slot.Analysis}  attempt {slot.Attempt}/{slot.MaxAttempts}  {slot.Message}");
        }

        return s.Failed > 0 || s.Invalid > 0 || snapshot.Errors.Count > 0 ? ExitCodes.NotOk : ExitCodes.Ok;
    }

    /// <summary><c>dashboard</c>: one row per workflow, from every snapshot under the projects root.</summary>
    public async Task<int> DashboardAsync(CancellationToken cancellationToken)
    {
        var root = ProjectsRoot;
        if (!Directory.Exists(root))
        {
            return Fail(ExitCodes.Usage, $"{root}: no such projects folder");
        }

        output.WriteLine($"{"workflow",-40} {"complete",10} {"running",8} {"queued",7} {"failed",7} {"errors",7}  age");
        var stale = 0;
        foreach (var path in WorkflowFiles.Scan(root).Order(StringComparer.Ordinal))
        {
            var snapshot = await SnapshotStore.LoadAsync(path, cancellationToken);
            var name = Path.GetRelativePath(root, path);
            if (snapshot is null)
            {
                output.WriteLine($"{name,-40} not reconciled yet: is the daemon running?");
                stale++;
                continue;
            }

            var s = snapshot.Summary;
            var late = DateTimeOffset.UtcNow - (snapshot.NextReconcileAt ?? snapshot.ReconciledAt) > TimeSpan.FromMinutes(1);
            stale += late ? 1 : 0;
            output.WriteLine($"{name,-40} {$"{s.Complete}/{s.Total}",10} {s.Running,8} {s.Queued,7} {s.Failed,7} {snapshot.Errors.Count,7}  {Age(snapshot.ReconciledAt)}{(late ? "  stale: is the daemon running?" : "")}");
        }

        return stale > 0 ? ExitCodes.NotOk : ExitCodes.Ok;
    }

    /// <summary><c>retry</c>: a request the daemon consumes on its next pass.</summary>
    public async Task<int> RetryAsync(string workflowPath, string? sample, string? analysis, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(workflowPath);
        if (!Exists(path, out var code))
        {
            return code;
        }

        // With a snapshot to go by, a typo'd sample or analysis is an error and a request that would match nothing is not
        // written; without one (the daemon has not seen the file yet) the request is written as asked.
        if (await SnapshotStore.LoadAsync(path, cancellationToken) is { } snapshot)
        {
            if (sample is not null && !snapshot.Slots.Any(s => s.Sample == sample))
            {
                return Fail(ExitCodes.Usage, $"no sample '{sample}' in {snapshot.File}");
            }

            if (analysis is not null && !snapshot.Slots.Any(s => s.Analysis == analysis))
            {
                return Fail(ExitCodes.Usage, $"no analysis '{analysis}' in {snapshot.File}; its analyses are: {string.Join(", ", snapshot.Slots.Select(s => s.Analysis).Distinct(StringComparer.Ordinal))}");
            }

            var failed = snapshot.Slots.Count(s => s.State == SlotState.FailedPermanently
                && (sample is null || s.Sample == sample) && (analysis is null || s.Analysis == analysis));
            if (failed == 0)
            {
                output.WriteLine($"nothing to retry: no slot for sample {sample ?? "*"}, analysis {analysis ?? "*"} has failed for good (snapshot of {Age(snapshot.ReconciledAt)} ago)");
                return ExitCodes.Ok;
            }
        }

        var request = await RetryRequests.AddAsync(path, sample, analysis, DateTimeOffset.UtcNow, cancellationToken);
        output.WriteLine($"retry requested ({request.Id}) for sample {sample ?? "*"}, analysis {analysis ?? "*"}: the daemon gives the matching failed slots a fresh budget on its next pass ({RetryRequests.PathFor(path)})");
        return ExitCodes.Ok;
    }

    /// <summary><c>cancel</c>: sets <c>"cancel": true</c>, keeping the rest of the file (comments included) as it is.</summary>
    public async Task<int> CancelAsync(string workflowPath, bool yes, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(workflowPath);
        if (!Exists(path, out var code))
        {
            return code;
        }

        var text = await File.ReadAllTextAsync(path, cancellationToken);
        Workflow before;
        try
        {
            before = WorkflowParser.Parse(text, Path.GetFileName(path), WorkflowFiles.ProjectOf(path));
        }
        catch (InputException e)
        {
            return Fail(ExitCodes.Usage, $"cannot cancel an invalid workflow: {e.Message}");
        }

        if (before.Cancel)
        {
            output.WriteLine($"{Path.GetFileName(path)} is already cancelled");
            return ExitCodes.Ok;
        }

        if (!yes)
        {
            output.Write($"Cancel workflow {before.Name} ({path})? Its active jobs will be terminated. [y/N] ");
            var answer = (await input.ReadLineAsync(cancellationToken))?.Trim();
            if (answer is not ("y" or "Y" or "yes"))
            {
                output.WriteLine("not cancelled");
                return ExitCodes.NotOk;
            }
        }

        var edited = SetCancel(text);
        var after = WorkflowParser.Parse(edited, Path.GetFileName(path), WorkflowFiles.ProjectOf(path));
        if (!after.Cancel)
        {
            return Fail(ExitCodes.Usage, $"{path}: could not set cancel: true; edit the file by hand");
        }

        await AtomicFile.WriteAsync(path, Encoding.UTF8.GetBytes(edited), cancellationToken);
        output.WriteLine($"{Path.GetFileName(path)}: cancel set; the daemon terminates its active jobs on its next pass");
        return ExitCodes.Ok;
    }

    /// <summary>Replaces <c>"cancel": false</c>, or inserts <c>"cancel": true,</c> after the opening brace.</summary>
    internal static string SetCancel(string text)
    {
        var existing = System.Text.RegularExpressions.Regex.Match(text, "\"cancel\"\\s*:\\s*false");
        if (existing.Success)
        {
            return text[..existing.Index] + "\"cancel\": true" + text[(existing.Index + existing.Length)..];
        }

        var brace = text.IndexOf('{', StringComparison.Ordinal);
        return text[..(brace + 1)] + "\n  \"cancel\": true," + text[(brace + 1)..];
    }

    /// <summary><c>import</c>: creates the project folder with metadata.json (and a copy of the CSV).</summary>
    public async Task<int> ImportAsync(string project, string csvPath, string sampleColumn, string? fileColumn, CancellationToken cancellationToken, bool force = false)
    {
        if (!WorkflowParser.IsSafeName(project))
        {
            return Fail(ExitCodes.Usage, $"project name '{project}' may hold only letters, digits, '_', '-' and '.' (not leading)");
        }

        if (!File.Exists(csvPath))
        {
            return Fail(ExitCodes.Usage, $"{csvPath}: no such file");
        }

        IReadOnlyList<Sample> samples;
        try
        {
            samples = MetadataParser.ParseCsv(await File.ReadAllTextAsync(csvPath, cancellationToken), Path.GetFileName(csvPath), sampleColumn);
        }
        catch (InputException e)
        {
            foreach (var problem in e.Errors)
            {
                error.WriteLine(problem);
            }

            return ExitCodes.Usage;
        }

        if (fileColumn is not null && samples.Any(s => !s.Columns.ContainsKey(fileColumn)))
        {
            return Fail(ExitCodes.Usage, $"{Path.GetFileName(csvPath)}: header: no '{fileColumn}' column (--file-col)");
        }

        var folder = Path.Combine(ProjectsRoot, project);
        var target = Path.Combine(folder, "metadata.json");
        if (File.Exists(target) && !force)
        {
            // Replacing a project's samples changes every workflow of it at once (removed samples stop being managed).
            return Fail(ExitCodes.Usage, $"{target} exists; use --force to replace the project's samples");
        }

        Directory.CreateDirectory(folder);
        var records = samples.Select(s =>
        {
            var record = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var (key, value) in s.Columns.Where(c => c.Key != sampleColumn))
            {
                record[key == fileColumn ? "file_name" : key] = value;
            }

            record[MetadataParser.SampleColumn] = s.Name;
            return record;
        }).ToArray();
        await AtomicFile.WriteAsync(target, JsonSerializer.SerializeToUtf8Bytes(records, Indented), cancellationToken);
        File.Copy(csvPath, Path.Combine(folder, "metadata.source.csv"), overwrite: true);
        output.WriteLine($"project {project}: {samples.Count} samples written to {Path.Combine(folder, "metadata.json")}");
        return ExitCodes.Ok;
    }

    /// <summary><c>create</c>: validates a definition against the project's samples and writes it as a workflow file.</summary>
    public async Task<int> CreateAsync(string project, string definitionPath, bool force, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(ProjectsRoot, project);
        if (!Directory.Exists(folder))
        {
            return Fail(ExitCodes.Usage, $"project '{project}' does not exist under {ProjectsRoot}: run 'batchkeeper import' first");
        }

        if (!File.Exists(definitionPath))
        {
            return Fail(ExitCodes.Usage, $"{definitionPath}: no such file");
        }

        var text = await File.ReadAllTextAsync(definitionPath, cancellationToken);
        Workflow workflow;
        IReadOnlyList<Sample> samples;
        try
        {
            workflow = WorkflowParser.Parse(text, Path.GetFileName(definitionPath), project);
            samples = await WorkflowLoader.LoadSamplesAsync(workflow, folder, Path.GetFileName(definitionPath), cancellationToken);
        }
        catch (InputException e)
        {
            foreach (var problem in e.Errors)
            {
                error.WriteLine(problem);
            }

            return ExitCodes.NotOk;
        }

        var target = Path.Combine(folder, workflow.Name + ".json");
        var plan = WorkflowPlanner.Plan(workflow, samples, new WorkflowLocation(project, Path.GetFileName(target), folder), _options.Retry.ToLimits());
        var invalid = plan.Slots.Where(s => s.Spec is null).ToArray();
        foreach (var slot in invalid)
        {
            error.WriteLine($"slot {slot.Sample} / {slot.Analysis}: {slot.Error}");
        }

        if (invalid.Length > 0)
        {
            return ExitCodes.NotOk;
        }

        if (Outputs.BackendOutputs.Unsupported(workflow, _options.Backend, Path.GetFileName(definitionPath)) is { } unsupported)
        {
            error.WriteLine(unsupported);
            return ExitCodes.NotOk;
        }

        if (File.Exists(target) && !force)
        {
            return Fail(ExitCodes.Usage, $"{target} exists; use --force to replace it");
        }

        await AtomicFile.WriteAsync(target, Encoding.UTF8.GetBytes(text), cancellationToken);
        output.WriteLine($"created {target}: {plan.Slots.Count} slots ({samples.Count} samples × {plan.Analyses.Count} analyses)");
        return ExitCodes.Ok;
    }

    /// <summary><c>logs</c>: the slot's job output; locally its log file.</summary>
    public async Task<int> LogsAsync(string workflowPath, string sample, string? analysis, bool follow, CancellationToken cancellationToken, string? logGroup = null)
    {
        var path = Path.GetFullPath(workflowPath);
        var snapshot = await SnapshotStore.LoadAsync(path, cancellationToken);
        if (snapshot is null)
        {
            return Fail(ExitCodes.NotOk, $"{SnapshotStore.PathFor(path)}: no snapshot yet");
        }

        var slots = snapshot.Slots.Where(s => s.Sample == sample && (analysis is null || s.Analysis == analysis)).ToArray();
        if (slots.Length == 0)
        {
            return Fail(ExitCodes.Usage, $"no slot for sample '{sample}'{(analysis is null ? "" : $" and analysis '{analysis}'")} in {snapshot.File}");
        }

        if (slots.Length > 1)
        {
            return Fail(ExitCodes.Usage, $"sample '{sample}' has {slots.Length} analyses ({string.Join(", ", slots.Select(s => s.Analysis))}): name one with --analysis");
        }

        var slot = slots[0];
        var stream = slot.LogStream ?? slot.History.LastOrDefault()?.LogStream;
        if (stream is null)
        {
            return Fail(ExitCodes.NotOk, $"slot {sample} / {slot.Analysis} has no log yet ({Wire(slot.State)})");
        }

        if (snapshot.Backend != "Local")
        {
            return await AwsLogsAsync(path, slot, stream, follow, logGroup, cancellationToken);
        }

        long position = 0;
        while (true)
        {
            await using (var file = new FileStream(stream, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            {
                file.Position = position;
                using var reader = new StreamReader(file);
                var text = await reader.ReadToEndAsync(cancellationToken);
                await output.WriteAsync(text);
                await output.FlushAsync(cancellationToken);
                position = file.Position;
            }

            if (!follow || !await IsStillRunningAsync(path, slot, cancellationToken))
            {
                return ExitCodes.Ok;
            }

            await Task.Delay(FollowInterval, cancellationToken);
        }
    }

    /// <summary>How often <c>logs --follow</c> and <c>status --watch</c> look again.</summary>
    public TimeSpan FollowInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// <c>logs</c> on AWS: every page of the slot's CloudWatch Logs stream (GetLogEvents, oldest first); with
    /// <c>--follow</c>, reads on from the last page's token while the job is active, then once more for the last lines.
    /// </summary>
    private async Task<int> AwsLogsAsync(string path, SlotRecord slot, string stream, bool follow, string? logGroup, CancellationToken cancellationToken)
    {
        var settings = AwsSettings;
        var group = logGroup ?? settings.LogGroup;
        try
        {
            using var client = new CloudWatchLogsClient(settings);
            string? token = null;
            var last = false;
            while (true)
            {
                try
                {
                    await foreach (var page in client.ReadPagesAsync(group, stream, token, cancellationToken))
                    {
                        foreach (var line in page.Events)
                        {
                            await output.WriteLineAsync(line.Message);
                        }

                        token = page.NextForwardToken ?? token;
                    }

                    await output.FlushAsync(cancellationToken);
                }
                catch (CloudWatchLogsException e) when (e.ErrorCode == "ResourceNotFoundException" && (!follow || last))
                {
                    return Fail(ExitCodes.NotOk,
                        $"log stream {stream} in log group {group}: {e.ServiceMessage} (a job definition that sends its logs elsewhere needs --log-group)");
                }
                catch (CloudWatchLogsException e) when (e.ErrorCode == "ResourceNotFoundException")
                {
                    // Following a job that has not written anything yet: its stream appears with its first line.
                }

                if (!follow || last)
                {
                    return ExitCodes.Ok;
                }

                // One more read after the job stops: the lines it wrote last may have arrived since.
                last = !await IsStillRunningAsync(path, slot, cancellationToken);
                if (!last)
                {
                    await Task.Delay(FollowInterval, cancellationToken);
                }
            }
        }
        catch (Exception e) when (AwsFailure(e) is { } failure)
        {
            return Fail(failure.Code, failure.Message);
        }
    }

    /// <summary>Whether the slot's job is still queued or running, by the workflow's current snapshot.</summary>
    private static async Task<bool> IsStillRunningAsync(string path, SlotRecord slot, CancellationToken cancellationToken)
    {
        var current = await SnapshotStore.LoadAsync(path, cancellationToken);
        var now = current?.Slots.FirstOrDefault(s => s.Sample == slot.Sample && s.Analysis == slot.Analysis);
        return now is { State: SlotState.Queued or SlotState.Running };
    }

    /// <summary><c>queue</c>: job counts per status in a Batch queue (every page of ListJobs per status).</summary>
    public async Task<int> QueueAsync(string queue, CancellationToken cancellationToken)
    {
        try
        {
            return await CountQueueAsync(queue, cancellationToken);
        }
        catch (Exception e) when (AwsFailure(e) is { } failure)
        {
            return Fail(failure.Code, $"queue {queue}: {failure.Message}");
        }
    }

    private async Task<int> CountQueueAsync(string queue, CancellationToken cancellationToken)
    {
        using var client = new BatchClient(AwsSettings);
        output.WriteLine($"queue {queue}");
        foreach (var status in Aws.Batch.Model.JobStatus.All)
        {
            var count = 0;
            try
            {
                await foreach (var _ in client.ListAllJobsAsync(new ListJobsRequest { JobQueue = queue, JobStatus = status, MaxResults = 1000 }, cancellationToken))
                {
                    count++;
                }
            }
            catch (BatchServiceException e) when (e.IsClientError)
            {
                return Fail(ExitCodes.Usage, $"queue {queue}: {e.ErrorCode}: {e.ServiceMessage}");
            }

            output.WriteLine($"{status,-10} {count}");
        }

        return ExitCodes.Ok;
    }

    private static string Wire(SlotState state) => JsonSerializer.Serialize(state).Trim('"');

    private static string Age(DateTimeOffset at)
    {
        var age = DateTimeOffset.UtcNow - at;
        return age < TimeSpan.FromMinutes(1) ? $"{Math.Max(0, (int)age.TotalSeconds)}s"
            : age < TimeSpan.FromHours(1) ? $"{(int)age.TotalMinutes}m"
            : $"{(int)age.TotalHours}h";
    }
}

using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Batchkeeper.BatchEmulator.Wire;
using Microsoft.Extensions.Logging;

namespace Batchkeeper.BatchEmulator;

/// <summary>
/// The jobs, queues and definitions, and Batch's state machine over them. One lock guards
/// everything; nothing slow (I/O, user callbacks) runs under it.
/// </summary>
internal sealed partial class JobStore
{
    public const string ContainerExited = "Essential container in task exited";
    public const string DependentJobFailed = "Dependent Job failed";

    private const int MaxDescribeJobs = 100;

    private readonly object _gate = new();
    private readonly BatchEmulatorOptions _options;
    private readonly EmulatorFaults _faults;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly OutputFinisher? _finisher;
    private readonly EmulatedLogs _logs;
    private readonly JobEvents? _events;
    private readonly Dictionary<string, JobRecord> _byId = new(StringComparer.Ordinal);
    private readonly List<JobRecord> _all = [];
    private readonly List<JobRecord> _active = [];
    private readonly Dictionary<string, int> _nameAttempts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, QueueRecord> _queues = new(StringComparer.Ordinal);
    private readonly List<DefinitionRecord> _definitions = [];
    private readonly HashSet<Task> _finishing = [];
    private long _sequence;
    private TaskCompletionSource _changed = NewSignal();

    public JobStore(
        BatchEmulatorOptions options, EmulatorFaults faults, OutputFinisher? finisher, EmulatedLogs logs, ILogger logger, JobEvents? events = null)
    {
        _logs = logs;
        _events = events;
        _options = options;
        _faults = faults;
        _finisher = finisher;
        _time = options.TimeProvider;
        _logger = logger;
        foreach (var queue in options.JobQueues)
        {
            _queues[queue.Name] = new QueueRecord(queue.Name, QueueArn(queue.Name), queue.Priority, queue.State);
        }

        foreach (var definition in options.JobDefinitions)
        {
            AddDefinition(definition);
        }
    }

    public string QueueArn(string name) => _options.JobQueueArn(name);

    private string DefinitionArn(string name, int revision) =>
        $"arn:aws:batch:{_options.Region}:{_options.AccountId}:job-definition/{name}:{revision}";

    private DefinitionRecord AddDefinition(JobDefinitionOptions definition)
    {
        var record = new DefinitionRecord(definition, DefinitionArn(definition.Name, definition.Revision));
        _definitions.RemoveAll(d => d.Name == record.Name && d.Revision == record.Revision);
        _definitions.Add(record);
        return record;
    }

    // ---------------------------------------------------------------- SubmitJob

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex JobNamePattern();

    public JobRecord Submit(SubmitJobRequest request)
    {
        if (IsPresent(request.ArrayProperties) || IsPresent(request.NodeOverrides) ||
            IsPresent(request.EksPropertiesOverride) || IsPresent(request.EcsPropertiesOverride))
        {
            throw BatchErrorException.Client(
                "Array jobs, multi-node jobs and EKS/ECS property overrides are not supported by the emulator.");
        }

        var name = Required(request.JobName, "jobName");
        if (!JobNamePattern().IsMatch(name))
        {
            throw BatchErrorException.Client("Error executing request, Exception : Job name should match valid pattern");
        }

        var queueName = Required(request.JobQueue, "jobQueue");
        var definitionName = Required(request.JobDefinition, "jobDefinition");
        var retry = ValidateRetry(request.RetryStrategy);
        if (request.Timeout?.AttemptDurationSeconds is < 60)
        {
            throw BatchErrorException.Client("timeout.attemptDurationSeconds must be at least 60.");
        }

        var tags = request.Tags ?? [];
        if (tags.Count > 50 || tags.Any(t => t.Key.Length is < 1 or > 128 || t.Value.Length > 256))
        {
            throw BatchErrorException.Client("At most 50 tags; keys 1-128 characters, values at most 256.");
        }

        var overrides = request.ContainerOverrides;
        var overrideEnvironment = ValidateEnvironment(overrides?.Environment);
        var overrideResources = ValidateResources(overrides?.ResourceRequirements);
        if (request.Parameters?.Keys.Any(string.IsNullOrEmpty) == true)
        {
            throw BatchErrorException.Client("Parameter names must not be empty.");
        }

        if (request.DependsOn is { Count: > 20 })
        {
            throw BatchErrorException.Client("A job can depend on at most 20 jobs.");
        }

        var now = _time.GetUtcNow();
        JobRecord job;
        lock (_gate)
        {
            var queue = ResolveQueueForSubmit(queueName);
            var definition = ResolveDefinitionForSubmit(definitionName);
            var dependsOn = new List<string>();
            foreach (var dependency in request.DependsOn ?? [])
            {
                var id = Required(dependency.JobId, "dependsOn.jobId");
                if (dependency.Type is not (null or "SEQUENTIAL" or "N_TO_N"))
                {
                    throw BatchErrorException.Client($"dependsOn type must be SEQUENTIAL or N_TO_N (got {dependency.Type}).");
                }

                var upstream = FindLocked(id) ?? throw BatchErrorException.Client($"Dependent Job ID {id} does not exist.");
                dependsOn.Add(upstream.Id);
            }

            var parameters = new Dictionary<string, string>(definition.Parameters, StringComparer.Ordinal);
            foreach (var (key, value) in request.Parameters ?? [])
            {
                parameters[key] = value;
            }

            var environment = Merge(definition.Environment, overrideEnvironment);
            var resources = Merge(definition.Resources, overrideResources);
            var command = (overrides?.Command ?? [.. definition.Command]).Select(a => Substitute(a, parameters)).ToList();
            var jobId = Guid.NewGuid().ToString();
            job = new JobRecord
            {
                Id = jobId,
                Sequence = ++_sequence,
                Arn = $"arn:aws:batch:{_options.Region}:{_options.AccountId}:job/{jobId}",
                Name = name,
                Queue = queue,
                Definition = definition,
                CreatedAt = now,
                VisibleAt = now + _options.DescribeVisibilityDelay,
                StateEnteredAt = now,
                DependsOn = dependsOn,
                DependsOnWire = [.. (request.DependsOn ?? []).Select((d, i) => new JobDependency { JobId = dependsOn[i], Type = d.Type })],
                Parameters = parameters,
                Tags = new Dictionary<string, string>(tags, StringComparer.Ordinal),
                TagsGiven = request.Tags is not null,
                Environment = environment,
                Command = command,
                Resources = resources,
                Vcpus = overrides?.Vcpus,
                Memory = overrides?.Memory,
                InstanceType = overrides?.InstanceType,
                Retry = retry ?? (definition.RetryAttempts is { } attempts ? new RetryStrategy { Attempts = attempts } : null),
                Timeout = request.Timeout ?? (definition.TimeoutSeconds is { } seconds ? new JobTimeout { AttemptDurationSeconds = seconds } : null),
                PropagateTags = request.PropagateTags,
                ShareIdentifier = request.ShareIdentifier,
                SchedulingPriority = request.SchedulingPriorityOverride,
                Outputs = ParseOutputs(environment),
            };
            job.History.Add(new EmulatedTransition(JobStatus.Submitted, now));
            _byId[job.Id] = job;
            _all.Add(job);
            _active.Add(job);
            SignalLocked();
        }

        Log.JobSubmitted(_logger, job.Id, job.Name, job.Queue.Name);
        return job;
    }

    private static bool IsPresent(System.Text.Json.JsonElement? element) =>
        element is { } e && e.ValueKind is not (System.Text.Json.JsonValueKind.Null or System.Text.Json.JsonValueKind.Undefined);

    private static string Required(string? value, string member) =>
        string.IsNullOrEmpty(value) ? throw BatchErrorException.Client($"{member} is required.") : value;

    private static RetryStrategy? ValidateRetry(RetryStrategy? retry)
    {
        if (retry is null)
        {
            return null;
        }

        if (retry.Attempts is not (>= 1 and <= 10))
        {
            throw BatchErrorException.Client("retryStrategy.attempts must be between 1 and 10.");
        }

        if (retry.EvaluateOnExit is { } rules)
        {
            if (rules.Count > 5)
            {
                throw BatchErrorException.Client("retryStrategy.evaluateOnExit holds at most 5 conditions.");
            }

            foreach (var rule in rules)
            {
                if (!string.Equals(rule.Action, "RETRY", StringComparison.OrdinalIgnoreCase) &&
                    !string.Equals(rule.Action, "EXIT", StringComparison.OrdinalIgnoreCase))
                {
                    throw BatchErrorException.Client("evaluateOnExit.action must be RETRY or EXIT.");
                }
            }
        }

        return retry;
    }

    private static List<KeyValuePair<string, string>> ValidateEnvironment(List<NameValue>? environment)
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (var variable in environment ?? [])
        {
            if (string.IsNullOrEmpty(variable.Name))
            {
                throw BatchErrorException.Client("Environment variable names must not be empty.");
            }

            if (variable.Name.StartsWith("AWS_BATCH", StringComparison.Ordinal))
            {
                throw BatchErrorException.Client($"Environment variable {variable.Name}: names beginning with AWS_BATCH are reserved.");
            }

            result.Add(new(variable.Name, variable.Value ?? ""));
        }

        return result;
    }

    private static List<KeyValuePair<string, string>> ValidateResources(List<ResourceRequirement>? resources)
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (var requirement in resources ?? [])
        {
            if (requirement.Type is not ("VCPU" or "MEMORY" or "GPU"))
            {
                throw BatchErrorException.Client($"resourceRequirements type must be VCPU, MEMORY or GPU (got {requirement.Type}).");
            }

            if (!double.TryParse(requirement.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) || amount <= 0)
            {
                throw BatchErrorException.Client($"resourceRequirements {requirement.Type} value must be a positive number (got {requirement.Value}).");
            }

            result.Add(new(requirement.Type, requirement.Value!));
        }

        return result;
    }

    private static List<KeyValuePair<string, string>> Merge(
        IReadOnlyList<KeyValuePair<string, string>> defaults, List<KeyValuePair<string, string>> overrides)
    {
        var merged = defaults.ToList();
        foreach (var item in overrides)
        {
            var index = merged.FindIndex(m => m.Key == item.Key);
            if (index >= 0)
            {
                merged[index] = item;
            }
            else
            {
                merged.Add(item);
            }
        }

        return merged;
    }

    /// <summary>Batch replaces <c>Ref::name</c> in the command with the parameter's value.</summary>
    private static string Substitute(string argument, Dictionary<string, string> parameters) =>
        argument.StartsWith("Ref::", StringComparison.Ordinal) && parameters.TryGetValue(argument[5..], out var value)
            ? value
            : argument;

    internal static List<string> ParseOutputs(IReadOnlyList<KeyValuePair<string, string>> environment)
    {
        var value = environment.LastOrDefault(e => e.Key == OutputFinisher.OutputsVariable).Value;
        return value is null
            ? []
            : [.. value.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0)];
    }

    private QueueRecord ResolveQueueForSubmit(string nameOrArn)
    {
        var name = QueueName(nameOrArn);
        if (!_queues.TryGetValue(name, out var queue))
        {
            if (_options.Strict)
            {
                throw BatchErrorException.Client($"JobQueue {nameOrArn} not found.");
            }

            queue = new QueueRecord(name, QueueArn(name), 1, "ENABLED");
            _queues[name] = queue;
        }

        return queue.State == "ENABLED"
            ? queue
            : throw BatchErrorException.Client($"JobQueue {nameOrArn} is not in ENABLED state.");
    }

    private static string QueueName(string nameOrArn)
    {
        var slash = nameOrArn.IndexOf(":job-queue/", StringComparison.Ordinal);
        return nameOrArn.StartsWith("arn:", StringComparison.Ordinal) && slash >= 0
            ? nameOrArn[(slash + ":job-queue/".Length)..]
            : nameOrArn;
    }

    private DefinitionRecord ResolveDefinitionForSubmit(string reference)
    {
        var (name, revision) = ParseDefinition(reference);
        var found = FindDefinitionsLocked(name, revision).LastOrDefault();
        if (found is not null)
        {
            return found;
        }

        if (_options.Strict || reference.StartsWith("arn:", StringComparison.Ordinal) && revision is null)
        {
            throw BatchErrorException.Client($"JobDefinition name {reference} does not exist or is not in ACTIVE status.");
        }

        return AddDefinition(new JobDefinitionOptions { Name = name, Revision = revision ?? 1 });
    }

    /// <summary>Splits <c>name</c>, <c>name:rev</c> or the ARN of either into name and revision.</summary>
    private static (string Name, int? Revision) ParseDefinition(string reference)
    {
        var text = reference;
        var marker = text.IndexOf(":job-definition/", StringComparison.Ordinal);
        if (text.StartsWith("arn:", StringComparison.Ordinal) && marker >= 0)
        {
            text = text[(marker + ":job-definition/".Length)..];
        }

        var colon = text.LastIndexOf(':');
        if (colon < 0)
        {
            return (text, null);
        }

        return int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var revision)
            ? (text[..colon], revision)
            : throw BatchErrorException.Client($"Job definition {reference}: the revision must be a number.");
    }

    private IEnumerable<DefinitionRecord> FindDefinitionsLocked(string name, int? revision) =>
        _definitions.Where(d => d.Name == name && (revision is null || d.Revision == revision)).OrderBy(d => d.Revision);

    // ---------------------------------------------------------------- Terminate / Cancel

    public void Terminate(string? jobId, string? reason)
    {
        var id = Required(jobId, "jobId");
        var why = Required(reason, "reason");
        lock (_gate)
        {
            var job = FindLocked(id) ?? throw BatchErrorException.Client($"Job {id} not found.");
            var now = _time.GetUtcNow();
            if (JobStatus.IsBeforeStarting(job.Status))
            {
                job.IsCancelled = true;
                job.IsTerminated = true;
                FinishLocked(job, JobStatus.Failed, why, now);
            }
            else if (!JobStatus.IsFinal(job.Status))
            {
                job.IsTerminated = true;
                job.Finishing = false;
                job.Attempts.Add(new AttemptRecord(job.StartedAt, now, null, null, why, job.LogStreamName, job.TaskArn));
                FinishLocked(job, JobStatus.Failed, why, now);
            }
        }
    }

    public void Cancel(string? jobId, string? reason)
    {
        var id = Required(jobId, "jobId");
        var why = Required(reason, "reason");
        lock (_gate)
        {
            var job = FindLocked(id) ?? throw BatchErrorException.Client($"Job {id} not found.");
            if (JobStatus.IsBeforeStarting(job.Status))
            {
                job.IsCancelled = true;
                FinishLocked(job, JobStatus.Failed, why, _time.GetUtcNow());
            }

            // STARTING, RUNNING and final jobs: a successful no-op, as in real Batch.
        }
    }

    /// <summary>
    /// Ends the run of each RUNNING job among <paramref name="jobIds"/> at the next tick, as its fault plan says
    /// (success, with outputs written, unless a rule makes it fail), however long it was meant to run. Returns how
    /// many were RUNNING.
    /// </summary>
    public int EndRuns(IEnumerable<string> jobIds)
    {
        var count = 0;
        lock (_gate)
        {
            foreach (var id in jobIds)
            {
                if (FindLocked(id) is { Status: JobStatus.Running } job)
                {
                    job.EndRunRequested = true;
                    count++;
                }
            }
        }

        return count;
    }

    // ---------------------------------------------------------------- state machine

    /// <summary>Moves every job whose time in its state is up. Called by the emulator's ticker.</summary>
    public void Tick()
    {
        List<(JobRecord Job, int Attempt, EmulatedJob Snapshot)>? toFinish = null;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var changed = false;
            var busy = _active.Count(j => j.Status is JobStatus.Starting or JobStatus.Running);

            // Copy: finishing a job edits _active, and a job failed in this pass can fail its
            // dependants in the same pass because PENDING jobs are looked at after it.
            foreach (var job in _active.ToList())
            {
                var elapsed = now - job.StateEnteredAt;
                switch (job.Status)
                {
                    case JobStatus.Submitted when elapsed >= _options.SubmittedDuration:
                        MoveLocked(job, JobStatus.Pending, now);
                        changed = true;
                        break;

                    case JobStatus.Pending:
                        var upstream = job.DependsOn.Select(id => _byId[id]).ToList();
                        if (upstream.Any(u => u.Status == JobStatus.Failed))
                        {
                            FinishLocked(job, JobStatus.Failed, DependentJobFailed, now);
                            changed = true;
                        }
                        else if (elapsed >= _options.PendingDuration && upstream.All(u => u.Status == JobStatus.Succeeded))
                        {
                            MoveLocked(job, JobStatus.Runnable, now);
                            changed = true;
                        }

                        break;

                    case JobStatus.Runnable when elapsed >= _options.RunnableDuration &&
                                                 (_options.MaxRunningJobs is not { } max || busy < max):
                        var nameAttempt = _nameAttempts.GetValueOrDefault(job.Name) + 1;
                        var plan = _faults.DecideAttempt(job.Name, nameAttempt);
                        if (plan.StuckRunnableReason is { } stuck)
                        {
                            // No compute environment takes it: it waits with Batch's reason and is not an attempt.
                            if (job.StatusReason != stuck)
                            {
                                job.StatusReason = stuck;
                                changed = true;
                            }

                            break;
                        }

                        job.StatusReason = null;
                        job.AttemptCount++;
                        job.NameAttempt = _nameAttempts[job.Name] = nameAttempt;
                        job.Plan = plan;
                        job.TaskArn = $"arn:aws:ecs:{_options.Region}:{_options.AccountId}:task/emulator/{Guid.NewGuid():N}";
                        MoveLocked(job, JobStatus.Starting, now);
                        busy++;
                        changed = true;
                        break;

                    case JobStatus.Starting when elapsed >= _options.StartingDuration:
                        if (job.Plan is { Fail: true, FailsToStart: true })
                        {
                            EndFailedAttemptLocked(job, now, job.Plan.ExitCode, job.Plan.ContainerReason, job.Plan.StatusReason);
                        }
                        else
                        {
                            job.StartedAt = now;
                            var taskArn = job.TaskArn ?? "";
                            job.LogStreamName = $"{job.Definition.Name}/default/{taskArn[(taskArn.LastIndexOf('/') + 1)..]}";
                            _logs.Append(job.LogStreamName, $"{job.Name} attempt {job.AttemptCount}: {string.Join(' ', job.Command)}", now);
                            MoveLocked(job, JobStatus.Running, now);
                        }

                        changed = true;
                        break;

                    case JobStatus.Running when !job.Finishing && (job.EndRunRequested || elapsed >= (job.Plan.RunDuration ?? _options.RunDuration)):
                        job.EndRunRequested = false;
                        if (job.Plan.Fail)
                        {
                            EndFailedAttemptLocked(job, now, job.Plan.ExitCode, job.Plan.ContainerReason, job.Plan.StatusReason);
                        }
                        else if (_finisher?.Applies(job) == true)
                        {
                            job.Finishing = true;
                            (toFinish ??= []).Add((job, job.AttemptCount, SnapshotLocked(job, now)));
                        }
                        else
                        {
                            SucceedLocked(job, now);
                        }

                        changed = true;
                        break;
                }
            }

            if (changed)
            {
                SignalLocked();
            }
        }

        foreach (var (job, attempt, snapshot) in toFinish ?? [])
        {
            StartFinishing(job, attempt, snapshot);
        }
    }

    private void StartFinishing(JobRecord job, int attempt, EmulatedJob snapshot)
    {
        var task = Task.Run(async () =>
        {
            string? failure;
            try
            {
                failure = await _finisher!.FinishAsync(snapshot).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Any failure of the outputs or the hook is the job's failure, never the emulator's.
            catch (Exception e)
#pragma warning restore CA1031
            {
                failure = $"{e.GetType().Name}: {e.Message}";
            }

            lock (_gate)
            {
                if (job.Status != JobStatus.Running || !job.Finishing || job.AttemptCount != attempt)
                {
                    return; // terminated meanwhile
                }

                job.Finishing = false;
                var now = _time.GetUtcNow();
                if (failure is null)
                {
                    SucceedLocked(job, now);
                }
                else
                {
                    EndFailedAttemptLocked(job, now, 1, failure, ContainerExited);
                }

                SignalLocked();
            }
        });
        lock (_gate)
        {
            _finishing.Add(task);
        }

        _ = task.ContinueWith(
            t =>
            {
                lock (_gate)
                {
                    _finishing.Remove(t);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Waits for output writing in flight (at shutdown).</summary>
    public Task DrainAsync()
    {
        lock (_gate)
        {
            return Task.WhenAll(_finishing.ToList());
        }
    }

    /// <summary>Enters a status; every other field of the job must already be as it is in that status (the event shows them).</summary>
    private void MoveLocked(JobRecord job, string status, DateTimeOffset now)
    {
        Log.JobMoved(_logger, job.Id, job.Name, job.Status, status);
        job.Status = status;
        job.StateEnteredAt = now;
        job.History.Add(new EmulatedTransition(status, now));
        if (status != JobStatus.Submitted)
        {
            _events?.Publish(ToDetail(job), now); // Batch sends no event for SUBMITTED
        }
    }

    private void FinishLocked(JobRecord job, string status, string? statusReason, DateTimeOffset now)
    {
        job.StatusReason = statusReason;
        job.StoppedAt = now;
        MoveLocked(job, status, now);
        _active.Remove(job);
        SignalLocked();
    }

    private void SucceedLocked(JobRecord job, DateTimeOffset now)
    {
        if (job.LogStreamName is { } stream)
        {
            _logs.Append(stream, "exit code 0", now);
        }

        job.ExitCode = 0;
        job.ContainerReason = null;
        job.Attempts.Add(new AttemptRecord(job.StartedAt, now, 0, null, ContainerExited, job.LogStreamName, job.TaskArn));
        FinishLocked(job, JobStatus.Succeeded, ContainerExited, now);
    }

    private void EndFailedAttemptLocked(JobRecord job, DateTimeOffset now, int? exitCode, string? reason, string? statusReason)
    {
        var attempt = new AttemptRecord(job.StartedAt, now, exitCode, reason, statusReason, job.LogStreamName, job.TaskArn);
        job.Attempts.Add(attempt);
        if (job.LogStreamName is { } stream)
        {
            _logs.Append(stream, $"exit code {exitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}{(reason is null ? "" : ": " + reason)}", now);
        }

        if (ShouldRetry(job, attempt))
        {
            // Batch's own retry: back to RUNNABLE; the current-attempt fields start afresh.
            job.StartedAt = null;
            job.LogStreamName = null;
            job.ExitCode = null;
            job.ContainerReason = null;
            job.StatusReason = null;
            MoveLocked(job, JobStatus.Runnable, now);
            return;
        }

        job.ExitCode = exitCode;
        job.ContainerReason = reason;
        FinishLocked(job, JobStatus.Failed, statusReason, now);
    }

    private static bool ShouldRetry(JobRecord job, AttemptRecord attempt)
    {
        if (job.Attempts.Count >= (job.Retry?.Attempts ?? 1))
        {
            return false;
        }

        foreach (var rule in job.Retry?.EvaluateOnExit ?? [])
        {
            var matches =
                Glob(rule.OnStatusReason, attempt.StatusReason) &&
                Glob(rule.OnReason, attempt.ContainerReason) &&
                Glob(rule.OnExitCode, attempt.ExitCode?.ToString(CultureInfo.InvariantCulture));
            if (matches)
            {
                return string.Equals(rule.Action, "RETRY", StringComparison.OrdinalIgnoreCase);
            }
        }

        return true; // "If none of the listed conditions match, then the job is retried."
    }

    /// <summary>Batch's evaluateOnExit pattern: exact, or a prefix when it ends with '*'; null matches anything.</summary>
    private static bool Glob(string? pattern, string? value)
    {
        if (pattern is null)
        {
            return true;
        }

        if (value is null)
        {
            return pattern == "*";
        }

        return pattern.EndsWith('*')
            ? value.StartsWith(pattern[..^1], StringComparison.Ordinal)
            : value == pattern;
    }

    private void SignalLocked()
    {
        var previous = _changed;
        _changed = NewSignal();
        previous.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    // ---------------------------------------------------------------- reads

    private JobRecord? FindLocked(string idOrArn)
    {
        var id = idOrArn.StartsWith("arn:", StringComparison.Ordinal) ? idOrArn[(idOrArn.LastIndexOf('/') + 1)..] : idOrArn;
        return _byId.GetValueOrDefault(id);
    }

    public DescribeJobsResponse Describe(DescribeJobsRequest request)
    {
        var ids = request.Jobs ?? throw BatchErrorException.Client("jobs is required.");
        if (ids.Count > MaxDescribeJobs)
        {
            throw BatchErrorException.Client($"The jobs list can hold at most {MaxDescribeJobs} job IDs (got {ids.Count}).");
        }

        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var details = new List<JobDetail>();
            foreach (var id in ids)
            {
                if (FindLocked(id ?? "") is { } job && job.VisibleAt <= now && seen.Add(job.Id))
                {
                    details.Add(ToDetail(job));
                }
            }

            return new DescribeJobsResponse { Jobs = details };
        }
    }

    public ListJobsResponse List(ListJobsRequest request)
    {
        if (request.ArrayJobId is not null || request.MultiNodeJobId is not null)
        {
            throw BatchErrorException.Client("arrayJobId and multiNodeJobId are not supported by the emulator.");
        }

        var queueName = QueueName(Required(request.JobQueue, "jobQueue"));
        var filters = request.Filters ?? [];
        if (filters.Count > 1)
        {
            throw BatchErrorException.Client("Only one filter can be used at a time.");
        }

        Func<JobRecord, bool> match;
        int limit;
        if (filters.Count == 1)
        {
            match = FilterPredicate(filters[0]);
            limit = 100;
        }
        else
        {
            var status = request.JobStatus ?? JobStatus.Running;
            if (!JobStatus.All.Contains(status))
            {
                throw BatchErrorException.Client($"jobStatus must be one of {string.Join(", ", JobStatus.All)} (got {status}).");
            }

            match = j => j.Status == status;
            limit = 1000;
        }

        if (request.MaxResults is < 1)
        {
            throw BatchErrorException.Client("maxResults must be at least 1.");
        }

        var pageSize = Math.Min(request.MaxResults ?? limit, limit);
        var after = request.NextToken is null ? ((long Ms, long Sequence)?)null : DecodeListToken(request.NextToken);

        lock (_gate)
        {
            if (!_queues.ContainsKey(queueName) && _options.Strict)
            {
                throw BatchErrorException.Client($"JobQueue {request.JobQueue} not found.");
            }

            var now = _time.GetUtcNow();
            var ordered = _all
                .Where(j => j.Queue.Name == queueName && j.VisibleAt <= now && match(j))
                .OrderByDescending(j => j.CreatedAtMs)
                .ThenByDescending(j => j.Sequence)
                .SkipWhile(j => after is { } a && !IsAfter(j, a))
                .Take(pageSize + 1)
                .ToList();
            var page = ordered.Take(pageSize).ToList();
            return new ListJobsResponse
            {
                JobSummaryList = [.. page.Select(ToSummary)],
                NextToken = ordered.Count > pageSize ? EncodeListToken(page[^1]) : null,
            };
        }
    }

    /// <summary>Whether <paramref name="job"/> comes after the page key in newest-first order.</summary>
    private static bool IsAfter(JobRecord job, (long Ms, long Sequence) key) =>
        job.CreatedAtMs < key.Ms || job.CreatedAtMs == key.Ms && job.Sequence < key.Sequence;

    private static string EncodeListToken(JobRecord last) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"list1|{last.CreatedAtMs}|{last.Sequence}"));

    private static (long Ms, long Sequence) DecodeListToken(string token)
    {
        try
        {
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(token)).Split('|');
            if (parts is ["list1", var ms, var sequence])
            {
                return (long.Parse(ms, NumberStyles.None, CultureInfo.InvariantCulture),
                        long.Parse(sequence, NumberStyles.None, CultureInfo.InvariantCulture));
            }
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            // answered below
        }

        throw BatchErrorException.Client("Invalid nextToken.");
    }

    private static Func<JobRecord, bool> FilterPredicate(KeyValuesPair filter)
    {
        var values = filter.Values is { Count: > 0 } v ? v : throw BatchErrorException.Client("A filter needs at least one value.");
        switch (filter.Name)
        {
            case "JOB_NAME":
                return j => values.Any(p => NameMatches(p, j.Name, StringComparison.OrdinalIgnoreCase));
            case "JOB_DEFINITION":
                return j => values.Any(p => p.StartsWith("arn:", StringComparison.Ordinal)
                    ? j.Definition.Arn == p
                    : NameMatches(p, j.Definition.Name, StringComparison.Ordinal));
            case "BEFORE_CREATED_AT":
            case "AFTER_CREATED_AT":
                var bound = long.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
                    ? ms
                    : throw BatchErrorException.Client($"{filter.Name} takes epoch milliseconds (got {values[0]}).");
                return filter.Name == "BEFORE_CREATED_AT" ? j => j.CreatedAtMs < bound : j => j.CreatedAtMs > bound;
            default:
                throw BatchErrorException.Client(
                    $"Filter {filter.Name} is not supported (JOB_NAME, JOB_DEFINITION, BEFORE_CREATED_AT, AFTER_CREATED_AT).");
        }
    }

    /// <summary>ListJobs' name match: exact, or a prefix when the pattern ends with '*'.</summary>
    private static bool NameMatches(string pattern, string name, StringComparison comparison) =>
        pattern.EndsWith('*')
            ? name.StartsWith(pattern[..^1], comparison)
            : string.Equals(name, pattern, comparison);

    public DescribeJobQueuesResponse DescribeQueues(DescribeJobQueuesRequest request)
    {
        lock (_gate)
        {
            IEnumerable<QueueRecord> queues = _queues.Values.OrderBy(q => q.Name, StringComparer.Ordinal);
            if (request.JobQueues is { Count: > 0 } wanted)
            {
                var names = wanted.Select(QueueName).ToHashSet(StringComparer.Ordinal);
                queues = queues.Where(q => names.Contains(q.Name));
            }

            var (page, next) = Paginate(queues.ToList(), request.MaxResults, request.NextToken, "queues");
            return new DescribeJobQueuesResponse
            {
                JobQueues = [.. page.Select(q => new JobQueueDetail
                {
                    JobQueueName = q.Name,
                    JobQueueArn = q.Arn,
                    State = q.State,
                    Status = "VALID",
                    StatusReason = "JobQueue Healthy",
                    Priority = q.Priority,
                    ComputeEnvironmentOrder =
                    [
                        new ComputeEnvironmentOrder
                        {
                            Order = 1,
                            ComputeEnvironment = $"arn:aws:batch:{_options.Region}:{_options.AccountId}:compute-environment/emulator",
                        },
                    ],
                    JobQueueType = "ECS",
                    Tags = [],
                })],
                NextToken = next,
            };
        }
    }

    public DescribeJobDefinitionsResponse DescribeDefinitions(DescribeJobDefinitionsRequest request)
    {
        if (request.Status is not (null or "ACTIVE" or "INACTIVE"))
        {
            throw BatchErrorException.Client("status must be ACTIVE or INACTIVE.");
        }

        if (request.JobDefinitions is { Count: > 100 })
        {
            throw BatchErrorException.Client("jobDefinitions can hold at most 100 entries.");
        }

        lock (_gate)
        {
            IEnumerable<DefinitionRecord> found = _definitions.OrderBy(d => d.Name, StringComparer.Ordinal).ThenBy(d => d.Revision);
            if (request.Status == "INACTIVE")
            {
                found = []; // every definition the emulator knows is ACTIVE
            }

            if (request.JobDefinitionName is { } name)
            {
                found = found.Where(d => d.Name == name);
            }

            if (request.JobDefinitions is { Count: > 0 } wanted)
            {
                var refs = wanted.Select(ParseDefinition).ToList();
                found = found.Where(d => refs.Any(r => r.Name == d.Name && (r.Revision is null || r.Revision == d.Revision)));
            }

            var (page, next) = Paginate(found.ToList(), request.MaxResults, request.NextToken, "definitions");
            return new DescribeJobDefinitionsResponse
            {
                JobDefinitions = [.. page.Select(d => new JobDefinition
                {
                    JobDefinitionName = d.Name,
                    JobDefinitionArn = d.Arn,
                    Revision = d.Revision,
                    Status = "ACTIVE",
                    Type = "container",
                    Parameters = new Dictionary<string, string>(d.Parameters, StringComparer.Ordinal),
                    RetryStrategy = d.RetryAttempts is { } attempts ? new RetryStrategy { Attempts = attempts } : null,
                    ContainerProperties = new ContainerProperties
                    {
                        Image = d.Image,
                        Command = [.. d.Command],
                        Environment = [.. d.Environment.Select(e => new NameValue { Name = e.Key, Value = e.Value })],
                        ResourceRequirements = [.. d.Resources.Select(r => new ResourceRequirement { Type = r.Key, Value = r.Value })],
                    },
                    Timeout = d.TimeoutSeconds is { } seconds ? new JobTimeout { AttemptDurationSeconds = seconds } : null,
                    Tags = [],
                    PropagateTags = false,
                    PlatformCapabilities = ["EC2"],
                    ContainerOrchestrationType = "ECS",
                })],
                NextToken = next,
            };
        }
    }

    private static (List<T> Page, string? Next) Paginate<T>(List<T> items, int? maxResults, string? token, string kind)
    {
        if (maxResults is < 1 or > 100)
        {
            throw BatchErrorException.Client("maxResults must be between 1 and 100.");
        }

        var start = 0;
        if (token is not null)
        {
            try
            {
                var parts = Encoding.UTF8.GetString(Convert.FromBase64String(token)).Split('|');
                start = parts is [var k, var offset] && k == kind
                    ? int.Parse(offset, NumberStyles.None, CultureInfo.InvariantCulture)
                    : throw BatchErrorException.Client("Invalid nextToken.");
            }
            catch (Exception e) when (e is FormatException or OverflowException)
            {
                throw BatchErrorException.Client("Invalid nextToken.");
            }
        }

        var size = maxResults ?? 100;
        var page = items.Skip(start).Take(size).ToList();
        var next = start + size < items.Count
            ? Convert.ToBase64String(Encoding.UTF8.GetBytes($"{kind}|{start + size}"))
            : null;
        return (page, next);
    }

    private static long? Ms(DateTimeOffset? at) => at?.ToUnixTimeMilliseconds();

    private static JobDetail ToDetail(JobRecord job) => new()
    {
        JobArn = job.Arn,
        JobName = job.Name,
        JobId = job.Id,
        JobQueue = job.Queue.Arn,
        Status = job.Status,
        ShareIdentifier = job.ShareIdentifier,
        SchedulingPriority = job.SchedulingPriority,
        Attempts = [.. job.Attempts.Select(a => new AttemptDetail
        {
            Container = new AttemptContainerDetail
            {
                ExitCode = a.ExitCode, Reason = a.ContainerReason, LogStreamName = a.LogStreamName, TaskArn = a.TaskArn,
            },
            StartedAt = Ms(a.StartedAt),
            StoppedAt = Ms(a.StoppedAt),
            StatusReason = a.StatusReason,
        })],
        StatusReason = job.StatusReason,
        CreatedAt = job.CreatedAtMs,
        RetryStrategy = job.Retry,
        StartedAt = Ms(job.StartedAt),
        StoppedAt = Ms(job.StoppedAt),
        DependsOn = [.. job.DependsOnWire],
        JobDefinition = job.Definition.Arn,
        Parameters = new Dictionary<string, string>(job.Parameters, StringComparer.Ordinal),
        Container = new ContainerDetail
        {
            Image = job.Definition.Image,
            Vcpus = job.Vcpus,
            Memory = job.Memory,
            Command = [.. job.Command],
            Environment = [.. job.Environment.Select(e => new NameValue { Name = e.Key, Value = e.Value })],
            ExitCode = job.ExitCode,
            Reason = job.ContainerReason,
            LogStreamName = job.LogStreamName,
            ResourceRequirements = [.. job.Resources.Select(r => new ResourceRequirement { Type = r.Key, Value = r.Value })],
            InstanceType = job.InstanceType,
            TaskArn = job.Status is JobStatus.Starting or JobStatus.Running || JobStatus.IsFinal(job.Status) ? job.TaskArn : null,
        },
        Timeout = job.Timeout,
        Tags = job.TagsGiven ? new Dictionary<string, string>(job.Tags, StringComparer.Ordinal) : null,
        PropagateTags = job.PropagateTags,
        PlatformCapabilities = ["EC2"],
        IsCancelled = job.IsCancelled,
        IsTerminated = job.IsTerminated,
    };

    private static JobSummary ToSummary(JobRecord job) => new()
    {
        JobArn = job.Arn,
        JobId = job.Id,
        JobName = job.Name,
        CreatedAt = job.CreatedAtMs,
        Status = job.Status,
        StatusReason = job.StatusReason,
        StartedAt = Ms(job.StartedAt),
        StoppedAt = Ms(job.StoppedAt),
        Container = job.ExitCode is null && job.ContainerReason is null
            ? null
            : new ContainerSummary { ExitCode = job.ExitCode, Reason = job.ContainerReason },
        JobDefinition = job.Definition.Arn,
    };

    // ---------------------------------------------------------------- snapshots for tests and control

    public IReadOnlyList<EmulatedJob> Snapshot()
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            return [.. _all.Select(j => SnapshotLocked(j, now))];
        }
    }

    public EmulatedJob? Snapshot(string idOrArn)
    {
        lock (_gate)
        {
            return FindLocked(idOrArn) is { } job ? SnapshotLocked(job, _time.GetUtcNow()) : null;
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _all.Clear();
            _active.Clear();
            _byId.Clear();
            _nameAttempts.Clear();
            SignalLocked();
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds for the jobs, checked after each change.</summary>
    public async Task WaitUntilAsync(Func<IReadOnlyList<EmulatedJob>, bool> condition, TimeSpan timeout, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        while (true)
        {
            Task changed;
            IReadOnlyList<EmulatedJob> jobs;
            lock (_gate)
            {
                changed = _changed.Task;
                var now = _time.GetUtcNow();
                jobs = [.. _all.Select(j => SnapshotLocked(j, now))];
            }

            if (condition(jobs))
            {
                return;
            }

            try
            {
                // Visibility is a matter of time, not of a change: look again at least every 50 ms.
                await changed.WaitAsync(TimeSpan.FromMilliseconds(50), _time, deadline.Token).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // look again
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new TimeoutException($"The emulator's jobs did not reach the expected state within {timeout}.");
            }
        }
    }

    private static EmulatedJob SnapshotLocked(JobRecord job, DateTimeOffset now) => new()
    {
        JobId = job.Id,
        JobArn = job.Arn,
        JobName = job.Name,
        JobQueue = job.Queue.Name,
        JobQueueArn = job.Queue.Arn,
        JobDefinitionArn = job.Definition.Arn,
        Status = job.Status,
        StatusReason = job.StatusReason,
        CreatedAt = job.CreatedAt,
        StartedAt = job.StartedAt,
        StoppedAt = job.StoppedAt,
        ExitCode = job.ExitCode,
        ContainerReason = job.ContainerReason,
        LogStreamName = job.LogStreamName,
        DependsOn = [.. job.DependsOn],
        Parameters = new Dictionary<string, string>(job.Parameters, StringComparer.Ordinal),
        Environment = job.Environment.GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal),
        Command = [.. job.Command],
        ResourceRequirements = job.Resources.ToDictionary(r => r.Key, r => r.Value, StringComparer.Ordinal),
        Tags = new Dictionary<string, string>(job.Tags, StringComparer.Ordinal),
        Outputs = [.. job.Outputs],
        AttemptCount = job.AttemptCount,
        NameAttempt = job.NameAttempt,
        IsCancelled = job.IsCancelled,
        IsTerminated = job.IsTerminated,
        Attempts = [.. job.Attempts.Select(a => new EmulatedAttempt(a.StartedAt, a.StoppedAt, a.ExitCode, a.ContainerReason, a.StatusReason, a.LogStreamName))],
        Visible = job.VisibleAt <= now,
        History = [.. job.History],
    };
}

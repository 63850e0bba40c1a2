using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Batchkeeper.BatchEmulator;

/// <summary>
/// The faults in force, as one immutable value: replace it whole (<see cref="EmulatorFaults.Set"/>)
/// or derive a new one with <c>with</c>. Over HTTP it is the JSON body of
/// <c>PUT /_emulator/faults</c> (camelCase names; durations as "hh:mm:ss.fff" or milliseconds).
/// The faults of job-state events and of the SQS endpoint are in <see cref="Events"/> (Sqs/EventFaults.cs).
/// </summary>
public sealed partial record FaultSettings
{
    /// <summary>No faults.</summary>
    public static FaultSettings None { get; } = new();

    /// <summary>Share (0..1) of Batch API requests answered 429 TooManyRequestsException.</summary>
    public double ThrottleRate { get; init; }

    /// <summary>Share (0..1) of Batch API requests answered 500 ServerException.</summary>
    public double ServerErrorRate { get; init; }

    /// <summary>Share (0..1) of Batch API requests that hang for <see cref="StallDuration"/>.</summary>
    public double StallRate { get; init; }

    /// <summary>How long a stalled request hangs. Default 30 s.</summary>
    [JsonConverter(typeof(LenientTimeSpanConverter))]
    public TimeSpan StallDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// False (default): a stalled request hangs before it is carried out, and is not carried out
    /// if the client gives up. True: it is carried out first and only its answer hangs (the
    /// "did my SubmitJob go through?" case).
    /// </summary>
    public bool StallAfterProcessing { get; init; }

    /// <summary>Latency added to every Batch API request. Default zero.</summary>
    [JsonConverter(typeof(LenientTimeSpanConverter))]
    public TimeSpan AddedLatency { get; init; }

    /// <summary>
    /// Operations (e.g. <c>DescribeJobs</c>) that the request faults above apply to. Default null:
    /// all Batch operations. Control endpoints under <c>/_emulator/</c> never see faults.
    /// </summary>
    public IReadOnlyList<string>? Operations { get; init; }

    /// <summary>Share (0..1) of job attempts, not matched by a rule, that fail at random.</summary>
    public double JobFailureRate { get; init; }

    /// <summary>Exit code of a random failure. Default 1.</summary>
    public int JobFailureExitCode { get; init; } = 1;

    /// <summary>Per-job rules, first match wins.</summary>
    public IReadOnlyList<JobFaultRule> JobRules { get; init; } = [];

    /// <summary>
    /// Seed of the random draws (throttling, errors, stalls, random failures; the events' draws use a sequence of
    /// their own derived from it). Setting a new value
    /// restarts the sequence. Default null: seeded from the clock.
    /// </summary>
    public int? Seed { get; init; }

    /// <summary>Every problem with these settings, empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = RateProblems(
            (nameof(ThrottleRate), ThrottleRate), (nameof(ServerErrorRate), ServerErrorRate),
            (nameof(StallRate), StallRate), (nameof(JobFailureRate), JobFailureRate));

        if (StallDuration < TimeSpan.Zero || AddedLatency < TimeSpan.Zero)
        {
            problems.Add("StallDuration and AddedLatency must not be negative.");
        }

        if (Operations is not null)
        {
            foreach (var operation in Operations)
            {
                if (!BatchOperations.IsKnown(operation))
                {
                    problems.Add($"Unknown operation '{operation}' in Operations; known: {string.Join(", ", BatchOperations.All)}.");
                }
            }
        }

        problems.AddRange((Events ?? EventFaultSettings.None).Validate().Select(p => $"Events: {p}"));
        for (var i = 0; i < JobRules.Count; i++)
        {
            problems.AddRange(JobRules[i].Validate().Select(p => $"JobRules[{i}]: {p}"));
        }

        return problems;
    }
}

/// <summary>
/// A rule for jobs whose name matches <see cref="NamePrefix"/> or <see cref="NameRegex"/> (one
/// of them is required). Attempts are counted per job name across all jobs of that name (the
/// daemon's resubmissions and Batch's own retries alike), starting at 1.
/// </summary>
public sealed class JobFaultRule
{
    private Regex? _regex;

    /// <summary>Matches job names that start with this (ordinal).</summary>
    public string? NamePrefix { get; init; }

    /// <summary>Matches job names this .NET regular expression finds a match in.</summary>
    public string? NameRegex { get; init; }

    /// <summary>Applies only to the first N attempts of a job name. Default null: to every attempt.</summary>
    public int? FirstAttempts { get; init; }

    /// <summary>Whether a matched attempt fails. Default true; false with <see cref="RunDuration"/> only slows it.</summary>
    public bool Fail { get; init; } = true;

    /// <summary>
    /// Container exit code of the failure. Default: 1, except none when <see cref="StatusReason"/> is given
    /// without <see cref="ContainerReason"/> (an instance or Spot loss) or when <see cref="FailsToStart"/>.
    /// </summary>
    public int? ExitCode { get; init; }

    /// <summary>Container reason, e.g. <c>OutOfMemoryError: Container killed due to memory usage</c>.</summary>
    public string? ContainerReason { get; init; }

    /// <summary>Job statusReason. Default <c>Essential container in task exited</c>.</summary>
    public string? StatusReason { get; init; }

    /// <summary>Fail in STARTING, never RUNNING (no startedAt), as an image pull failure does.</summary>
    public bool FailsToStart { get; init; }

    /// <summary>How long a matched attempt runs. Default null: the emulator's RunDuration.</summary>
    [JsonConverter(typeof(LenientNullableTimeSpanConverter))]
    public TimeSpan? RunDuration { get; init; }

    /// <summary>
    /// Keeps a matched job RUNNABLE with this statusReason, as Batch does when no compute environment can
    /// place it (e.g. <c>MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - …</c> or
    /// <c>CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - …</c>), until the rule stops matching (it is removed) or the
    /// job is terminated or cancelled. The attempt does not start, so it is not counted; the other outcome
    /// fields are ignored. Default null.
    /// </summary>
    public string? StuckRunnableReason { get; init; }

    /// <summary>OOM kill: exit 137 and Batch's container reason.</summary>
    public static JobFaultRule OutOfMemory(string namePrefix, int? firstAttempts = null) => new()
    {
        NamePrefix = namePrefix, FirstAttempts = firstAttempts, ExitCode = 137,
        ContainerReason = "OutOfMemoryError: Container killed due to memory usage",
    };

    /// <summary>Killed at its attempt timeout: statusReason <c>Job attempt duration exceeded timeout</c>, exit code 137 (SIGKILL).</summary>
    public static JobFaultRule TimedOut(string namePrefix, int? firstAttempts = null) => new()
    {
        NamePrefix = namePrefix, FirstAttempts = firstAttempts, ExitCode = 137, StatusReason = "Job attempt duration exceeded timeout",
    };

    /// <summary>The instance went away: statusReason <c>Host EC2 (instance i-…) terminated.</c>, no exit code.</summary>
    public static JobFaultRule HostTerminated(string namePrefix, int? firstAttempts = null) => new()
    {
        NamePrefix = namePrefix, FirstAttempts = firstAttempts,
        StatusReason = "Host EC2 (instance i-0123456789abcdef0) terminated.",
    };

    /// <summary>Spot reclaim: statusReason <c>Your Spot Task was interrupted.</c>, no exit code.</summary>
    public static JobFaultRule SpotInterrupted(string namePrefix, int? firstAttempts = null) => new()
    {
        NamePrefix = namePrefix, FirstAttempts = firstAttempts, StatusReason = "Your Spot Task was interrupted.",
    };

    /// <summary>The image cannot be pulled: fails in STARTING with a CannotPullContainerError reason.</summary>
    public static JobFaultRule CannotPullContainer(string namePrefix, int? firstAttempts = null) => new()
    {
        NamePrefix = namePrefix, FirstAttempts = firstAttempts, FailsToStart = true,
        StatusReason = "Task failed to start",
        ContainerReason = "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref: not found",
    };

    internal bool Matches(string jobName, int nameAttempt)
    {
        if (FirstAttempts is { } first && nameAttempt > first)
        {
            return false;
        }

        if (NamePrefix is not null && !jobName.StartsWith(NamePrefix, StringComparison.Ordinal))
        {
            return false;
        }

        if (NameRegex is not null)
        {
            _regex ??= new Regex(NameRegex, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            if (!_regex.IsMatch(jobName))
            {
                return false;
            }
        }

        return true;
    }

    internal IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (NamePrefix is null && NameRegex is null)
        {
            problems.Add("a rule needs namePrefix or nameRegex.");
        }

        if (NameRegex is not null)
        {
            try
            {
                _ = new Regex(NameRegex, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException e)
            {
                problems.Add($"nameRegex is not a valid regular expression: {e.Message}");
            }
        }

        if (FirstAttempts is < 1)
        {
            problems.Add($"firstAttempts must be at least 1 when set (got {FirstAttempts}).");
        }

        if (RunDuration < TimeSpan.Zero)
        {
            problems.Add("runDuration must not be negative.");
        }

        if (StuckRunnableReason is { Length: 0 })
        {
            problems.Add("stuckRunnableReason must not be empty when set.");
        }

        return problems;
    }
}

/// <summary>
/// Thread-safe holder of the faults in force, shared by the HTTP pipeline, the state machine and
/// the control endpoints.
/// </summary>
public sealed partial class EmulatorFaults
{
    private readonly object _gate = new();
    private FaultSettings _current;
    private Random _random;
    private int _throttleNext;

    internal EmulatorFaults(FaultSettings? initial)
    {
        _current = initial ?? FaultSettings.None;
        _random = NewRandom(_current.Seed);
        ReseedEvents(_current.Seed);
    }

    /// <summary>The faults in force now.</summary>
    public FaultSettings Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    /// <summary>Requests still to be throttled by <see cref="ThrottleNext"/>.</summary>
    public int PendingThrottles
    {
        get
        {
            lock (_gate)
            {
                return _throttleNext;
            }
        }
    }

    /// <summary>
    /// Replaces the faults in force; a non-null <see cref="FaultSettings.Seed"/> restarts the random
    /// sequence even if it is unchanged. Throws <see cref="ArgumentException"/> listing every problem.
    /// </summary>
    public void Set(FaultSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        UpdateCore(_ => settings, reseed: settings.Seed is not null);
    }

    /// <summary>Derives new faults from the ones in force, atomically; the random sequence restarts only if the seed changes.</summary>
    public void Update(Func<FaultSettings, FaultSettings> change) => UpdateCore(change, reseed: false);

    private void UpdateCore(Func<FaultSettings, FaultSettings> change, bool reseed)
    {
        ArgumentNullException.ThrowIfNull(change);
        lock (_gate)
        {
            var next = change(_current) ?? throw new ArgumentException("The change returned null.", nameof(change));
            var problems = next.Validate();
            if (problems.Count > 0)
            {
                throw new ArgumentException(string.Join(" ", problems), nameof(change));
            }

            if (reseed || next.Seed != _current.Seed)
            {
                _random = NewRandom(next.Seed);
                ReseedEvents(next.Seed);
            }

            _current = next;
        }
    }

    /// <summary>Removes every fault and pending throttle.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _current = FaultSettings.None;
            _throttleNext = 0;
            _random = NewRandom(null);
            ReseedEvents(null);
        }
    }

    /// <summary>Appends a per-job rule (after the existing ones).</summary>
    public void AddJobRule(JobFaultRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        Update(s => s with { JobRules = [.. s.JobRules, rule] });
    }

    /// <summary>Answers the next <paramref name="count"/> Batch API requests (of the configured operations) with 429.</summary>
    public void ThrottleNext(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_gate)
        {
            _throttleNext += count;
        }
    }

    internal RequestFault DecideRequest(string operation)
    {
        lock (_gate)
        {
            var s = _current;
            if (s.Operations is not null && !s.Operations.Contains(operation, StringComparer.OrdinalIgnoreCase))
            {
                return RequestFault.None;
            }

            if (_throttleNext > 0)
            {
                _throttleNext--;
                return new RequestFault(RequestFaultKind.Throttle, s.AddedLatency, TimeSpan.Zero);
            }

            // Draw all three every time so that a seed gives the same sequence whatever the rates.
            var throttle = _random.NextDouble() < s.ThrottleRate;
            var error = _random.NextDouble() < s.ServerErrorRate;
            var stall = _random.NextDouble() < s.StallRate;
            var kind = throttle ? RequestFaultKind.Throttle
                : error ? RequestFaultKind.ServerError
                : stall ? (s.StallAfterProcessing ? RequestFaultKind.StallAfter : RequestFaultKind.StallBefore)
                : RequestFaultKind.None;
            return new RequestFault(kind, s.AddedLatency, stall ? s.StallDuration : TimeSpan.Zero);
        }
    }

    internal PlannedOutcome DecideAttempt(string jobName, int nameAttempt)
    {
        lock (_gate)
        {
            var s = _current;
            foreach (var rule in s.JobRules)
            {
                if (!rule.Matches(jobName, nameAttempt))
                {
                    continue;
                }

                if (rule.StuckRunnableReason is { } stuck)
                {
                    return PlannedOutcome.Stuck(stuck);
                }

                if (!rule.Fail)
                {
                    return new PlannedOutcome(false, null, null, null, false, rule.RunDuration);
                }

                var exitCode = rule.ExitCode ?? (rule.StatusReason is not null && rule.ContainerReason is null ? null : 1);
                if (rule.FailsToStart)
                {
                    exitCode = rule.ExitCode;
                }

                return new PlannedOutcome(
                    true, exitCode, rule.ContainerReason, rule.StatusReason ?? JobStore.ContainerExited,
                    rule.FailsToStart, rule.RunDuration);
            }

            if (s.JobFailureRate > 0 && _random.NextDouble() < s.JobFailureRate)
            {
                return new PlannedOutcome(true, s.JobFailureExitCode, null, JobStore.ContainerExited, false, null);
            }

            return PlannedOutcome.Success;
        }
    }

    private static Random NewRandom(int? seed) => seed is { } value ? new Random(value) : new Random();
}

internal enum RequestFaultKind
{
    None,
    Throttle,
    ServerError,
    StallBefore,
    StallAfter,
}

internal readonly record struct RequestFault(RequestFaultKind Kind, TimeSpan Latency, TimeSpan Stall)
{
    public static RequestFault None => new(RequestFaultKind.None, TimeSpan.Zero, TimeSpan.Zero);
}

internal sealed record PlannedOutcome(
    bool Fail, int? ExitCode, string? ContainerReason, string? StatusReason, bool FailsToStart, TimeSpan? RunDuration,
    string? StuckRunnableReason = null)
{
    public static PlannedOutcome Success { get; } = new(false, null, null, null, false, null);

    /// <summary>The attempt does not start: the job stays RUNNABLE with this statusReason.</summary>
    public static PlannedOutcome Stuck(string reason) => new(false, null, null, null, false, null, reason);
}

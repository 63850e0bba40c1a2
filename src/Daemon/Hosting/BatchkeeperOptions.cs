using Batchkeeper.Core.Planning;
using Microsoft.Extensions.Options;

namespace Batchkeeper.Daemon.Hosting;

/// <summary>Where jobs run and outputs live.</summary>
public enum BackendKind
{
    /// <summary>Jobs as local processes, outputs as local files. The default.</summary>
    Local,

    /// <summary>AWS Batch and S3.</summary>
    Aws,
}

/// <summary>The <c>Batchkeeper</c> section of <c>appsettings.json</c> (environment: <c>Batchkeeper__…</c>).</summary>
public sealed class BatchkeeperOptions
{
    public const string Section = "Batchkeeper";

    /// <summary>The watched projects root; relative to the working directory. Default <c>projects</c>.</summary>
    public string ProjectsDirectory { get; set; } = "projects";

    /// <summary>Default <see cref="BackendKind.Local"/>.</summary>
    public BackendKind Backend { get; set; } = BackendKind.Local;

    /// <summary>How often each workflow is reconciled when nothing changes. Default 30 seconds.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the whole projects folder is rescanned, in case the file watcher missed an event. Default 10 seconds.</summary>
    public TimeSpan RescanInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a file must be quiet after a change before it is read. Default 300 ms.</summary>
    public TimeSpan Debounce { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// A workflow file that does not parse and was written less than this ago may still be being written:
    /// it is read again after this long instead of being reported. Default 2 seconds.
    /// </summary>
    public TimeSpan SettleTime { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a SUCCEEDED job's outputs may take to appear. Default 1 minute.</summary>
    public TimeSpan OutputGracePeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A job RUNNABLE this long with a MISCONFIGURATION or CAPACITY reason is flagged stuck. Default 30 minutes.</summary>
    public TimeSpan StuckRunnableAfter { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Whether stuck jobs are terminated (and their slots reported misconfigured). Default false.</summary>
    public bool TerminateStuckJobs { get; set; }

    /// <summary>
    /// A pass running longer than this means the reconcile loop is hung: the systemd watchdog is no longer fed
    /// and systemd restarts the service. Default 15 minutes.
    /// </summary>
    public TimeSpan PassStallAfter { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Passes (of different workflows) run at once. Passes mostly wait on Batch and S3, and the DescribeJobs calls
    /// of passes in flight together are merged, so more at once means fewer calls. Default 16.
    /// </summary>
    public int PassConcurrency { get; set; } = 16;

    /// <summary>
    /// Wait for the projects root's lock instead of refusing to start when another daemon holds it, and take over
    /// when that one ends (<c>batchkeeper run --standby</c>). Default false.
    /// </summary>
    public bool Standby { get; set; }

    /// <summary>How long a submitted job may be missing from the backend before it is taken as lost. Default 10 minutes.</summary>
    public TimeSpan LostJobAfter { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How many samples' chains submit at once within one pass. Default 4.</summary>
    public int SubmitParallelism { get; set; } = 4;

    /// <summary>
    /// How long, after SIGTERM or SIGINT, backend calls still in flight may take before they are cancelled, so that every
    /// pass can write its snapshot and the daemon exits well within systemd's TimeoutStopSec. Default 5 seconds.
    /// </summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Directory for the rolling log files. Default <c>logs</c>.</summary>
    public string LogDirectory { get; set; } = "logs";

    public RetryOptions Retry { get; set; } = new();

    public LocalOptions Local { get; set; } = new();

    public Notifications.NotificationOptions Notifications { get; set; } = new();

    public Web.WebOptions Web { get; set; } = new();
}

/// <summary>Defaults for the failure policy; an analysis's <c>retry</c> overrides them.</summary>
public sealed class RetryOptions
{
    /// <summary>Attempts for ordinary failures. Default 3.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Wait before the second attempt, doubled for each later one. Default 1 minute.</summary>
    public TimeSpan Backoff { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Memory multiplier after out-of-memory. Default 1.5.</summary>
    public double MemoryFactor { get; set; } = 1.5;

    /// <summary>Memory ceiling in MiB for escalation; null for none. Default null.</summary>
    public int? MaxMemory { get; set; }

    /// <summary>Free resubmissions after Spot or host loss. Default 5.</summary>
    public int MaxInterruptions { get; set; } = 5;

    public RetryLimits ToLimits() => new(MaxAttempts, MemoryFactor, MaxMemory, MaxInterruptions, Backoff);
}

/// <summary>The local backend.</summary>
public sealed class LocalOptions
{
    /// <summary>Jobs running at once. Default 2.</summary>
    public int MaxConcurrentJobs { get; set; } = 2;

    /// <summary>Where job records and job logs are kept. Default <c>.batchkeeper/local</c>.</summary>
    public string WorkDirectory { get; set; } = ".batchkeeper/local";
}

/// <summary>
/// Reports every configuration problem at once, at start-up: one line each, naming the setting, the value and what
/// is allowed. Every interval and duration has bounds (a huge one would mean "never"; a negative one is meaningless).
/// </summary>
internal sealed class BatchkeeperOptionsValidator : IValidateOptions<BatchkeeperOptions>
{
    public ValidateOptionsResult Validate(string? name, BatchkeeperOptions options)
    {
        var problems = Problems(options);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    public static List<string> Problems(BatchkeeperOptions options)
    {
        var problems = new List<string>();
        void Between(string setting, TimeSpan value, TimeSpan min, TimeSpan max)
        {
            if (value < min || value > max)
            {
                problems.Add($"Batchkeeper:{setting}: {value:c} is not allowed: expected {min:c} to {max:c}");
            }
        }

        void Count(string setting, double value, double min, double max)
        {
            if (double.IsNaN(value) || value < min || value > max)
            {
                problems.Add($"Batchkeeper:{setting}: {value.ToString(System.Globalization.CultureInfo.InvariantCulture)} is not allowed: expected {min.ToString(System.Globalization.CultureInfo.InvariantCulture)} to {max.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
            }
        }

        var day = TimeSpan.FromDays(1);
        Between("ReconcileInterval", options.ReconcileInterval, TimeSpan.FromSeconds(1), day);
        Between("RescanInterval", options.RescanInterval, TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1));
        Between("Debounce", options.Debounce, TimeSpan.Zero, TimeSpan.FromMinutes(1));
        Between("SettleTime", options.SettleTime, TimeSpan.Zero, TimeSpan.FromHours(1));
        Between("OutputGracePeriod", options.OutputGracePeriod, TimeSpan.Zero, TimeSpan.FromDays(7));
        Between("StuckRunnableAfter", options.StuckRunnableAfter, TimeSpan.FromSeconds(1), TimeSpan.FromDays(30));
        Between("PassStallAfter", options.PassStallAfter, TimeSpan.FromSeconds(1), day);
        Between("Retry:Backoff", options.Retry.Backoff, TimeSpan.Zero, day);
        Count("Retry:MaxAttempts", options.Retry.MaxAttempts, 1, 100);
        Count("Retry:MemoryFactor", options.Retry.MemoryFactor, 1, 16);
        Count("Retry:MaxInterruptions", options.Retry.MaxInterruptions, 0, 1000);
        if (options.Retry.MaxMemory is { } maxMemory)
        {
            Count("Retry:MaxMemory", maxMemory, 1, int.MaxValue);
        }

        Between("LostJobAfter", options.LostJobAfter, TimeSpan.FromSeconds(1), day);
        Between("ShutdownGrace", options.ShutdownGrace, TimeSpan.Zero, TimeSpan.FromSeconds(30));
        Count("PassConcurrency", options.PassConcurrency, 1, 256);
        Count("SubmitParallelism", options.SubmitParallelism, 1, 64);
        Count("Local:MaxConcurrentJobs", options.Local.MaxConcurrentJobs, 1, 4096);
        Folder(problems, "ProjectsDirectory", options.ProjectsDirectory, mustWrite: false);
        Folder(problems, "LogDirectory", options.LogDirectory, mustWrite: true);
        if (options.Backend == BackendKind.Local)
        {
            Folder(problems, "Local:WorkDirectory", options.Local.WorkDirectory, mustWrite: true);
        }

        Notifications.NotificationOptions.AddProblems(problems, options.Notifications);
        Web.WebOptions.AddProblems(problems, options.Web);
        return problems;
    }

    /// <summary>
    /// A folder setting: a path, not a file, that can be created; with <paramref name="mustWrite"/> it is created
    /// and written to now (an unwritable log folder would otherwise give no log file and no warning).
    /// </summary>
    internal static void Folder(List<string> problems, string setting, string value, bool mustWrite)
    {
        var shown = Batchkeeper.Core.Workflows.Quoted.Name(value ?? "");
        if (string.IsNullOrWhiteSpace(value) || value.Contains('\0', StringComparison.Ordinal))
        {
            problems.Add($"Batchkeeper:{setting}: '{shown}' is not allowed: expected a folder path");
            return;
        }

        string full;
        try
        {
            full = Path.GetFullPath(value);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            problems.Add($"Batchkeeper:{setting}: '{shown}' is not allowed: expected a folder path");
            return;
        }

        if (File.Exists(full))
        {
            problems.Add($"Batchkeeper:{setting}: '{shown}' is a file: expected a folder (created if missing)");
            return;
        }

        for (var parent = Path.GetDirectoryName(full); parent is not null; parent = Path.GetDirectoryName(parent))
        {
            if (File.Exists(parent))
            {
                problems.Add($"Batchkeeper:{setting}: '{shown}' is under the file '{Batchkeeper.Core.Workflows.Quoted.Name(parent)}': expected a folder that can be created");
                return;
            }

            if (Directory.Exists(parent))
            {
                break;
            }
        }

        if (!mustWrite)
        {
            return;
        }

        try
        {
            Directory.CreateDirectory(full);
            var probe = Path.Combine(full, $".batchkeeper-write-test-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"Batchkeeper:{setting}: '{shown}' cannot be written ({Batchkeeper.Core.Workflows.Quoted.Escape(e.Message)}): expected a folder the daemon can write");
        }
    }
}

/// <summary>Configuration that cannot be used: the daemon says each problem on one line and exits 2.</summary>
public sealed class ConfigurationException(IReadOnlyList<string> problems) : Exception(string.Join("; ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

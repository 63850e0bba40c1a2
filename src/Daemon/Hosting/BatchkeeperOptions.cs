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

/// <summary>Reports every configuration problem at once, at start-up.</summary>
internal sealed class BatchkeeperOptionsValidator : IValidateOptions<BatchkeeperOptions>
{
    public ValidateOptionsResult Validate(string? name, BatchkeeperOptions options)
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ProjectsDirectory))
        {
            problems.Add("Batchkeeper:ProjectsDirectory: required (a folder path)");
        }

        if (options.ReconcileInterval < TimeSpan.FromSeconds(1))
        {
            problems.Add($"Batchkeeper:ReconcileInterval: expected at least 00:00:01, got {options.ReconcileInterval}");
        }

        if (options.RescanInterval < TimeSpan.FromMilliseconds(100))
        {
            problems.Add($"Batchkeeper:RescanInterval: expected at least 00:00:00.1, got {options.RescanInterval}");
        }

        if (options.Debounce < TimeSpan.Zero)
        {
            problems.Add($"Batchkeeper:Debounce: expected a non-negative time span, got {options.Debounce}");
        }

        if (options.Retry.MaxAttempts < 1)
        {
            problems.Add($"Batchkeeper:Retry:MaxAttempts: expected at least 1, got {options.Retry.MaxAttempts}");
        }

        if (options.Retry.MemoryFactor < 1)
        {
            problems.Add($"Batchkeeper:Retry:MemoryFactor: expected at least 1, got {options.Retry.MemoryFactor}");
        }

        if (options.Retry.MaxInterruptions < 0)
        {
            problems.Add($"Batchkeeper:Retry:MaxInterruptions: expected 0 or more, got {options.Retry.MaxInterruptions}");
        }

        if (options.PassConcurrency is < 1 or > 256)
        {
            problems.Add($"Batchkeeper:PassConcurrency: expected 1 to 256, got {options.PassConcurrency}");
        }

        if (options.LostJobAfter < TimeSpan.FromSeconds(1))
        {
            problems.Add($"Batchkeeper:LostJobAfter: expected at least 00:00:01, got {options.LostJobAfter}");
        }

        if (options.SubmitParallelism is < 1 or > 64)
        {
            problems.Add($"Batchkeeper:SubmitParallelism: expected 1 to 64, got {options.SubmitParallelism}");
        }

        if (options.ShutdownGrace < TimeSpan.Zero || options.ShutdownGrace > TimeSpan.FromSeconds(30))
        {
            problems.Add($"Batchkeeper:ShutdownGrace: expected 00:00:00 to 00:00:30, got {options.ShutdownGrace}");
        }

        if (options.OutputGracePeriod < TimeSpan.Zero)
        {
            problems.Add($"Batchkeeper:OutputGracePeriod: expected a non-negative time span, got {options.OutputGracePeriod}");
        }

        if (options.StuckRunnableAfter < TimeSpan.Zero)
        {
            problems.Add($"Batchkeeper:StuckRunnableAfter: expected a non-negative time span, got {options.StuckRunnableAfter}");
        }

        if (options.Local.MaxConcurrentJobs < 1)
        {
            problems.Add($"Batchkeeper:Local:MaxConcurrentJobs: expected at least 1, got {options.Local.MaxConcurrentJobs}");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

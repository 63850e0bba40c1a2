using System.Net;
using Batchkeeper.BatchEmulator.Sqs;
using Batchkeeper.BatchEmulator.Wire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Batchkeeper.BatchEmulator;

/// <summary>
/// An AWS Batch API emulator on 127.0.0.1: the real rest-json wire format, Batch's job state
/// machine in real time, fault injection, and a log of the requests it received. On the same port: CloudWatch Logs'
/// GetLogEvents and, with <see cref="BatchEmulatorOptions.EventsQueue"/>, an SQS queue fed with job-state events.
/// <code>
/// await using var emu = await BatchEmulator.StartAsync(new BatchEmulatorOptions { Strict = true, JobQueues = { new() { Name = "q" } } });
/// // point a Batch client at emu.BaseAddress; assert on emu.Requests and emu.Jobs
/// </code>
/// </summary>
public sealed class BatchEmulator : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly JobStore _store;
    private readonly RequestLog _log;
    private readonly RequestLog _sqsLog;
    private readonly JobEvents? _events;
    private readonly OutputFinisher? _finisher;
    private readonly CancellationTokenSource _stopping;
    private Task _ticker = Task.CompletedTask;
    private int _disposed;

    private BatchEmulator(
        BatchEmulatorOptions options, WebApplication app, EmulatorFaults faults, JobStore store, RequestLog log,
        RequestLog sqsLog, JobEvents? events, OutputFinisher? finisher, CancellationTokenSource stopping)
    {
        Options = options;
        _app = app;
        Faults = faults;
        _store = store;
        _log = log;
        _sqsLog = sqsLog;
        _events = events;
        _finisher = finisher;
        _stopping = stopping;
    }

    /// <summary>Where the emulator listens, e.g. <c>http://127.0.0.1:40123/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The options it was started with (changing them afterwards has no effect).</summary>
    public BatchEmulatorOptions Options { get; }

    /// <summary>The faults in force; thread-safe, change them at any time.</summary>
    public EmulatorFaults Faults { get; }

    /// <summary>A snapshot of the Batch API requests received so far, in order of arrival.</summary>
    public IReadOnlyList<RecordedRequest> Requests => _log.Snapshot();

    /// <summary>Batch API requests received and not yet answered (e.g. stalled ones).</summary>
    public int RequestsInFlight => _log.InFlight;

    /// <summary>A snapshot of the SQS requests received so far, in order of arrival (kept apart from <see cref="Requests"/>).</summary>
    public IReadOnlyList<RecordedRequest> SqsRequests => _sqsLog.Snapshot();

    /// <summary>SQS requests received and not yet answered (e.g. long polls waiting).</summary>
    public int SqsRequestsInFlight => _sqsLog.InFlight;

    /// <summary>The events queue (<see cref="BatchEmulatorOptions.EventsQueue"/>), or null.</summary>
    public EmulatedQueue? EventsQueue => _events?.Queue;

    /// <summary>The events queue's URL, <c>http://127.0.0.1:PORT/ACCOUNT/NAME</c> (for the daemon's EventsQueueUrl), or null.</summary>
    public string? EventsQueueUrl => _events?.Queue.Url;

    /// <summary>Every job-state event published so far, oldest first, with what became of it (dropped ones too).</summary>
    public IReadOnlyList<EmulatedJobEvent> JobEvents => _events?.Sent ?? [];

    /// <summary>A snapshot of every job, in order of submission (hidden ones too).</summary>
    public IReadOnlyList<EmulatedJob> Jobs => _store.Snapshot();

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _expiredSessionTokens = new(StringComparer.Ordinal);

    /// <summary>
    /// From now on, requests signed with this session token (<c>X-Amz-Security-Token</c>) are refused as Batch refuses
    /// expired temporary credentials: HTTP 403 <c>ExpiredTokenException</c>.
    /// </summary>
    public void ExpireSessionToken(string token) => _expiredSessionTokens[token] = 0;

    /// <summary>The jobs' CloudWatch Logs streams, served by GetLogEvents at <c>POST /</c> of <see cref="BaseAddress"/>.</summary>
    public EmulatedLogs Logs { get; private init; } = null!;

    /// <summary>Starts an emulator and returns once it accepts connections.</summary>
    /// <exception cref="ArgumentException">The options are not usable; the message lists every problem.</exception>
    public static async Task<BatchEmulator> StartAsync(BatchEmulatorOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new BatchEmulatorOptions();
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid emulator options: " + string.Join(" ", problems), nameof(options));
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(BatchEmulator).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });

        // Hermetic: no appsettings, no ASPNETCORE_URLS or Kestrel settings from the environment.
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        options.ConfigureLogging?.Invoke(builder.Logging);
        builder.Services.AddSingleton<IHostLifetime, NoSignalsLifetime>();
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, options.Port);
        });

        var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Batchkeeper.BatchEmulator");
        var stopping = new CancellationTokenSource();
        var faults = new EmulatorFaults(options.Faults);
        var finisher = OutputFinisher.Create(options, logger, stopping.Token);
        var logs = new EmulatedLogs();
        var events = options.EventsQueue is { } queueName ? new JobEvents(options, new EmulatedQueue(queueName, options), faults) : null;
        var store = new JobStore(options, faults, finisher, logs, logger, events);
        var log = new RequestLog(options.MaxRecordedRequests);
        var sqsLog = new RequestLog(options.MaxRecordedRequests);
        var emulator = new BatchEmulator(options, app, faults, store, log, sqsLog, events, finisher, stopping) { Logs = logs };

        var api = new BatchApi(store, faults, log, options.TimeProvider, logger, stopping.Token, emulator._expiredSessionTokens.ContainsKey);
        app.MapPost("/v1/{operation}", api.HandleAsync);

        // CloudWatch Logs and SQS share POST /, told apart by X-Amz-Target as on AWS's own endpoints.
        var logsApi = new LogsApi(logs, options, log, options.TimeProvider);
        var sqsApi = new SqsApi(events is null ? [] : [events.Queue], faults, sqsLog, options.TimeProvider, logger, stopping.Token);
        app.MapPost("/", context => SqsApi.Serves(context) ? sqsApi.HandleAsync(context) : logsApi.HandleAsync(context));
        ControlEndpoints.Map(app, emulator);

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await emulator.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        emulator.BaseAddress = new Uri(address.EndsWith('/') ? address : address + "/");
        events?.Queue.Bind(emulator.BaseAddress);
        emulator._ticker = Task.Run(() => emulator.TickAsync(logger), CancellationToken.None);
        Log.Listening(logger, emulator.BaseAddress);
        return emulator;
    }

    private async Task TickAsync(ILogger logger)
    {
        using var timer = new PeriodicTimer(Options.TickInterval, Options.TimeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                try
                {
                    _store.Tick();
                }
#pragma warning disable CA1031 // One bad tick must not stop the state machine; it is logged.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    Log.TickFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // stopped
        }
    }

    /// <summary>
    /// The requests of one operation (e.g. <see cref="BatchOperations.SubmitJob"/>, or <see cref="SqsOperations.ReceiveMessage"/>
    /// from the SQS log), in order of arrival.
    /// </summary>
    public IReadOnlyList<RecordedRequest> RequestsFor(string operation) =>
        [.. (SqsOperations.IsKnown(operation) ? _sqsLog : _log).Snapshot()
            .Where(r => string.Equals(r.Operation, operation, StringComparison.OrdinalIgnoreCase))];

    /// <summary>A snapshot of one job by id or ARN, or null.</summary>
    public EmulatedJob? GetJob(string jobIdOrArn) => _store.Snapshot(jobIdOrArn);

    /// <summary>
    /// Waits until <paramref name="condition"/> holds for the jobs (checked after every change).
    /// Throws <see cref="TimeoutException"/> at the deadline.
    /// </summary>
    public Task WaitUntilAsync(Func<IReadOnlyList<EmulatedJob>, bool> condition, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _store.WaitUntilAsync(condition, timeout, cancellationToken);

    /// <summary>Waits until the job exists and <paramref name="condition"/> holds for it; returns that snapshot.</summary>
    public async Task<EmulatedJob> WaitForJobAsync(
        string jobIdOrArn, Func<EmulatedJob, bool> condition, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        EmulatedJob? seen = null;
        await _store.WaitUntilAsync(
            _ => (seen = _store.Snapshot(jobIdOrArn)) is { } job && condition(job), timeout, cancellationToken).ConfigureAwait(false);
        return seen!;
    }

    /// <summary>Waits until the job is SUCCEEDED or FAILED; returns that snapshot.</summary>
    public Task<EmulatedJob> WaitForFinalAsync(string jobIdOrArn, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitForJobAsync(jobIdOrArn, j => j.IsFinal, timeout, cancellationToken);

    /// <summary>
    /// Ends the runs of these RUNNING jobs at the next tick, however long they were meant to run: each then succeeds
    /// (writing its outputs) or fails as its fault plan says. Returns how many of them were RUNNING.
    /// </summary>
    public int EndRuns(IEnumerable<string> jobIds) => _store.EndRuns(jobIds);

    /// <summary>Empties the request logs (Batch and SQS).</summary>
    public void ClearRequests()
    {
        _log.Clear();
        _sqsLog.Clear();
    }

    /// <summary>Forgets every job (and the per-name attempt counters).</summary>
    public void ClearJobs() => _store.Clear();

    /// <summary>Forgets jobs, requests and events (the events queue is purged) and removes every fault.</summary>
    public void Reset()
    {
        _store.Clear();
        ClearRequests();
        Logs.Clear();
        _events?.Clear();
        _events?.Queue.Purge();
        Faults.Reset();
    }

    /// <summary>Stops listening, stops the state machine and releases everything.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _ticker.ConfigureAwait(false);
        try
        {
            await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // never started
        }

        await _store.DrainAsync().WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _app.DisposeAsync().ConfigureAwait(false);
        _finisher?.Dispose();
        _stopping.Dispose();
    }

    /// <summary>The host ignores Ctrl-C and SIGTERM: the test or Program decides when to stop.</summary>
    private sealed class NoSignalsLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

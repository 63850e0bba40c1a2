using System.CommandLine;
using Batchkeeper.Daemon.Cli.Commands;
using Batchkeeper.Daemon.Hosting;
using Microsoft.Extensions.Configuration;

namespace Batchkeeper.Daemon.Cli;

/// <summary>
/// The <c>batchkeeper</c> command line: the root command, the option every command shares (<c>--projects</c>) and one
/// subcommand per class in <c>Cli/Commands</c>, each given the shared <see cref="CliContext"/>.
/// </summary>
internal static class CliRoot
{
    public static async Task<int> InvokeAsync(string[] args)
    {
        var projects = new Option<string?>("--projects") { Description = "The projects folder (default: Batchkeeper:ProjectsDirectory, 'projects').", Recursive = true };
        var workflow = new Argument<string>("workflow") { Description = "A workflow file, e.g. projects/demo/wordcount.json." };
        var root = new RootCommand("Batchkeeper keeps per-sample batch jobs converged on AWS Batch or the local machine.");
        root.Options.Add(projects);
        // Only status and logs refresh: the option is theirs, not in every command's help.
        var interval = new Option<double>("--interval") { Description = "Seconds between refreshes of --watch and --follow.", DefaultValueFactory = _ => 2 };

        // The shared context of a command, built when the command runs and disposed when it ends (its services: the AWS
        // clients); a bad configuration is exit 2, one line each.
        async Task<int> Run(ParseResult parse, Func<CliContext, Task<int>> command)
        {
            CliContext context;
            try
            {
                context = CliContext.Create(Console.Out, Console.Error, Console.In, LoadConfiguration(), parse.GetValue(projects), TimeProvider.System)
                with { FollowInterval = FollowInterval(parse, interval), OutputIsTerminal = !Console.IsOutputRedirected };
            }
            catch (ConfigurationException e)
            {
                return await RunCommand.ConfigurationErrorAsync(e.Problems);
            }

            using (context)
            {
                return await command(context);
            }
        }

        var standby = new Option<bool>("--standby") { Description = "Wait for the daemon holding the projects folder to end, then take over (Batchkeeper:Standby)." };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log debug lines too: why each pass ran and how it ended (Serilog:MinimumLevel:Default=Debug)." };
        var run = new Command("run", RunCommand.Description) { standby, verbose };
        run.SetAction((parse, token) => RunCommand.RunAsync(parse.GetValue(projects), parse.GetValue(standby), parse.GetValue(verbose), token));
        root.Options.Add(verbose);
        root.SetAction((parse, token) => RunCommand.RunAsync(parse.GetValue(projects), standby: false, parse.GetValue(verbose), token));
        root.Subcommands.Add(run);

        var show = new Option<int>("--show") { Description = "How many slots to print as they would be submitted (0: none).", DefaultValueFactory = _ => ValidateCommand.DefaultShow };
        var checkAws = new Option<bool>("--aws") { Description = "Also check that every queue and job definition exists on AWS Batch." };
        var validate = new Command("validate", "Parse a workflow and expand every slot; exit 0 only when it is valid.") { workflow, show, checkAws };
        validate.SetAction((parse, token) => Run(parse, c => new ValidateCommand(c).ValidateAsync(parse.GetValue(workflow)!, parse.GetValue(show), parse.GetValue(checkAws), token)));
        root.Subcommands.Add(validate);

        var json = new Option<bool>("--json") { Description = "Print the snapshot as JSON." };
        var watch = new Option<bool>("--watch") { Description = "Refresh every --interval seconds until interrupted." };
        var status = new Command("status", "The state of a workflow's slots, from its snapshot; exit 1 when slots failed.") { workflow, json, watch, interval };
        status.SetAction((parse, token) => parse.GetValue(watch)
            ? Run(parse, c => new StatusCommand(c).WatchStatusAsync(parse.GetValue(workflow)!, parse.GetValue(json), token))
            : Run(parse, c => new StatusCommand(c).StatusAsync(parse.GetValue(workflow)!, parse.GetValue(json), token)));
        root.Subcommands.Add(status);

        var dashboard = new Command("dashboard", "One row per workflow across all projects; exit 1 when one has failed or invalid slots or errors, or its snapshot is stale.");
        dashboard.SetAction((parse, token) => Run(parse, c => new DashboardCommand(c).DashboardAsync(token)));
        root.Subcommands.Add(dashboard);

        var sample = new Option<string?>("--sample") { Description = "Only this sample." };
        var analysis = new Option<string?>("--analysis") { Description = "Only this analysis." };
        var retry = new Command("retry", "Give permanently failed slots a fresh budget (the daemon applies it on its next pass).") { workflow, sample, analysis };
        retry.SetAction((parse, token) => Run(parse, c => new RetryCommand(c).RetryAsync(parse.GetValue(workflow)!, parse.GetValue(sample), parse.GetValue(analysis), token)));
        root.Subcommands.Add(retry);

        var yes = new Option<bool>("--yes") { Description = "Do not ask for confirmation." };
        var cancel = new Command("cancel", "Set cancel: true in a workflow: its active jobs are terminated, nothing more is submitted.") { workflow, yes };
        cancel.SetAction((parse, token) => Run(parse, c => new CancelCommand(c).CancelAsync(parse.GetValue(workflow)!, parse.GetValue(yes), token)));
        root.Subcommands.Add(cancel);

        var project = new Argument<string>("project") { Description = "The project (a folder under the projects root)." };
        var metadata = new Option<string>("--metadata") { Description = "The CSV of samples.", Required = true };
        var sampleColumn = new Option<string>("--sample-col") { Description = "The column naming samples.", DefaultValueFactory = _ => "sample_name" };
        var fileColumn = new Option<string?>("--file-col") { Description = "The column naming each sample's file (becomes file_name)." };
        var replace = new Option<bool>("--force") { Description = "Replace the samples of an existing project." };
        var import = new Command("import", "Create a project folder with metadata.json from a CSV of samples.") { project, metadata, sampleColumn, fileColumn, replace };
        import.SetAction((parse, token) => Run(parse, c => new ImportCommand(c).ImportAsync(
            parse.GetValue(project)!, parse.GetValue(metadata)!, parse.GetValue(sampleColumn)!, parse.GetValue(fileColumn), token, parse.GetValue(replace))));
        root.Subcommands.Add(import);

        var definition = new Option<string>("--definition") { Description = "The workflow definition to install.", Required = true };
        var force = new Option<bool>("--force") { Description = "Replace an existing workflow file." };
        var create = new Command("create", "Validate a definition against a project's samples and write <project>/<workflow_name>.json.") { project, definition, force };
        create.SetAction((parse, token) => Run(parse, c => new CreateCommand(c).CreateAsync(parse.GetValue(project)!, parse.GetValue(definition)!, parse.GetValue(force), token)));
        root.Subcommands.Add(create);

        var requiredSample = new Option<string>("--sample") { Description = "The sample.", Required = true };
        var follow = new Option<bool>("--follow", "-f") { Description = "Wait for the job to start, print its output as it runs, stop when it ends." };
        var logGroup = new Option<string?>("--log-group") { Description = "The CloudWatch Logs group on AWS (default: Batchkeeper:Aws:LogGroup, /aws/batch/job)." };
        var logs = new Command("logs", "A slot's job output: its log file locally, its CloudWatch Logs stream on AWS.") { workflow, requiredSample, analysis, follow, logGroup, interval };
        logs.SetAction((parse, token) => Run(parse, c => new LogsCommand(c).LogsAsync(
            parse.GetValue(workflow)!, parse.GetValue(requiredSample)!, parse.GetValue(analysis), parse.GetValue(follow), token, parse.GetValue(logGroup))));
        root.Subcommands.Add(logs);

        var queueName = new Argument<string>("name") { Description = "The Batch job queue." };
        var queue = new Command("queue", "Job counts per status in a Batch queue.") { queueName };
        queue.SetAction((parse, token) => Run(parse, c => new QueueCommand(c).QueueAsync(parse.GetValue(queueName)!, token)));
        root.Subcommands.Add(queue);

        var notifyTest = new Command("test", "Send a test message to each configured webhook and print what each answered; exit 1 when one failed.");
        notifyTest.SetAction((parse, token) => Run(parse, c => new NotifyCommand(c).TestAsync(token)));
        root.Subcommands.Add(new Command("notify", "Notifications (Batchkeeper:Notifications:Webhooks).") { notifyTest });

        // The daemon handles SIGTERM itself (the host stops gracefully, within its own timeout): System.CommandLine must
        // not cut that short with its own termination timeout. The other commands (status --watch, logs --follow) are
        // cancelled on Ctrl+C or SIGTERM and end as they would by themselves.
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // A usage error: exit 2 like every other one (System.CommandLine's own default is 1, which means "not ok" here).
            foreach (var problem in parsed.Errors)
            {
                await Console.Error.WriteLineAsync($"batchkeeper: {problem.Message}");
            }

            await Console.Error.WriteLineAsync($"Run '{string.Join(' ', ["batchkeeper", .. CommandPath(parsed.CommandResult)])} --help' for usage.");
            return ExitCodes.Usage;
        }

        var isDaemon = parsed.CommandResult.Command == root || parsed.CommandResult.Command == run;
        return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = isDaemon ? null : TimeSpan.FromSeconds(2) });
    }

    /// <summary>The <c>--interval</c> of the commands that have it (status, logs); the default elsewhere.</summary>
    private static TimeSpan FollowInterval(ParseResult parse, Option<double> interval) =>
        parse.CommandResult.Command.Options.Contains(interval) ? TimeSpan.FromSeconds(Math.Clamp(parse.GetValue(interval), 0.05, 3600)) : TimeSpan.FromSeconds(2);

    private static Stack<string> CommandPath(System.CommandLine.Parsing.CommandResult? result)
    {
        var names = new Stack<string>();
        for (var current = result; current?.Parent is System.CommandLine.Parsing.CommandResult parent; current = parent)
        {
            names.Push(current.Command.Name);
        }

        return names;
    }

    /// <summary>The same configuration the daemon reads: appsettings.json (working directory or DOTNET_CONTENTROOT), then the environment.</summary>
    private static IConfiguration LoadConfiguration()
    {
        var folder = Environment.GetEnvironmentVariable("DOTNET_CONTENTROOT") is { Length: > 0 } root ? root : Directory.GetCurrentDirectory();
        return new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(folder, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .Build();
    }
}

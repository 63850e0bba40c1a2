using System.Globalization;
using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Workflows;
using Batchkeeper.Daemon.Aws.Batch;
using Batchkeeper.Daemon.Aws.Batch.Model;
using Batchkeeper.Daemon.Watching;
using Batchkeeper.Daemon.Workflows;

namespace Batchkeeper.Daemon.Cli.Commands;

/// <summary><c>validate</c>: a workflow parsed and every slot expanded, and with <c>--aws</c> checked against Batch.</summary>
internal sealed class ValidateCommand(CliContext context)
{
    /// <summary>How many slots <c>validate</c> prints unless <c>--show</c> says otherwise.</summary>
    internal const int DefaultShow = 5;

    /// <summary><c>validate</c>: parses and expands every slot; prints the first slots and every error.</summary>
    public async Task<int> ValidateAsync(string workflowPath, int show, bool aws, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(workflowPath);
        if (!context.Exists(path, out var code))
        {
            return code;
        }

        LoadedWorkflow loaded;
        try
        {
            loaded = await new FileWorkflowSource().LoadAsync(path, cancellationToken);
        }
        catch (InputException e)
        {
            foreach (var problem in e.Errors)
            {
                context.Error.WriteLine(problem);
            }

            context.Output.WriteLine($"{Path.GetFileName(path)}: invalid ({CliFormat.Count(e.Errors.Count, "error", "errors")})");
            return ExitCodes.NotOk;
        }

        var location = new WorkflowLocation(WorkflowFiles.ProjectOf(path), Path.GetFileName(path), Path.GetDirectoryName(path)!);
        var plan = WorkflowPlanner.Plan(loaded.Workflow, loaded.Samples, location, context.Options.Retry.ToLimits());
        var invalid = plan.Slots.Where(s => s.Spec is null).ToArray();
        context.Output.WriteLine($"workflow {plan.WorkflowName}: {CliFormat.Count(loaded.Samples.Count, "sample", "samples")} × {CliFormat.Count(plan.Analyses.Count, "analysis", "analyses")} = {CliFormat.Count(plan.Slots.Count, "slot", "slots")}, {invalid.Length} invalid");
        foreach (var note in loaded.Workflow.Notes)
        {
            context.Output.WriteLine($"note: {note}");
        }

        var valid = plan.Slots.Where(s => s.Spec is not null).ToArray();
        foreach (var slot in valid.Take(Math.Max(0, show)))
        {
            PrintSubmission(slot.Sample, slot.Analysis, slot.Spec!);
        }

        if (valid.Length > Math.Max(0, show))
        {
            context.Output.WriteLine($"({Math.Max(0, show)} of {valid.Length} valid slots shown; --show N prints N)");
        }

        foreach (var line in CliFormat.InvalidSlots(invalid))
        {
            context.Error.WriteLine(line);
        }

        // What the backend cannot do: s3:// outputs on Local, a timeout under 60 s on AWS; --aws asks about AWS anyway.
        var backend = aws ? Hosting.BackendKind.Aws : context.Options.Backend;
        if (Outputs.BackendOutputs.Unsupported(loaded.Workflow, backend, Path.GetFileName(path)) is { } unsupported)
        {
            context.Error.WriteLine(unsupported);
            return ExitCodes.NotOk;
        }

        var missing = 0;
        if (aws)
        {
            if (await AwsPreflight.MissingAsync(context, aboutQueues: false) is { } what)
            {
                return context.Fail(ExitCodes.Usage, what);
            }

            try
            {
                missing = await CheckOnBatchAsync(plan, cancellationToken);
            }
            catch (Exception e) when (CliContext.AwsFailure(e) is { } failure)
            {
                return context.Fail(failure.Code, failure.Message);
            }
        }

        return invalid.Length == 0 && missing == 0 ? ExitCodes.Ok : ExitCodes.NotOk;
    }


    /// <summary>One slot's job as its first attempt would be submitted: what SubmitJob (or the local backend) is given.</summary>
    private void PrintSubmission(string sample, string analysis, JobSpec spec)
    {
        static string Number(int? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "-";
        static string Pairs(IReadOnlyDictionary<string, string> map) =>
            string.Join(", ", map.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={Template.Finalize(kv.Value, 1)}"));

        var job = spec.Job;
        var output = context.Output;
        output.WriteLine($"slot {sample} / {analysis}: job {spec.JobName}");
        output.WriteLine($"  queue {job.Queue}, definition {job.JobDefinition}, vcpus {Number(job.Vcpus)}, memory {Number(job.MemoryMiB)}, "
            + $"timeout {(job.TimeoutSeconds is { } seconds ? $"{seconds}s" : "-")}, attempts {spec.Retry.MaxAttempts}");
        if (job.Parameters.Count > 0)
        {
            output.WriteLine(Quoted.Escape($"  parameters {Pairs(job.Parameters)}"));
        }

        if (job.Command is { } command)
        {
            output.WriteLine(Quoted.Escape($"  command {CliFormat.ShellWords(command.Select(c => Template.Finalize(c, 1)))}"));
        }

        // The backend adds BATCHKEEPER_OUTPUTS to the analysis's environment (the outputs below, one per line).
        var environment = job.Environment.Count > 0 ? Pairs(job.Environment) + ", " : "";
        output.WriteLine(Quoted.Escape($"  environment {environment}{WorkflowPlanner.OutputsVariable}=<the outputs>"));
        if (job.Tags.Count > 0)
        {
            output.WriteLine(Quoted.Escape($"  tags {Pairs(job.Tags)}"));
        }

        output.WriteLine($"  outputs {string.Join(' ', spec.Outputs.Select(o => o.Uri))}");
    }

    /// <summary><c>validate --aws</c>: every queue must exist and be ENABLED, every job definition must exist and be ACTIVE.</summary>
    private async Task<int> CheckOnBatchAsync(WorkflowPlan plan, CancellationToken cancellationToken)
    {
        var client = context.Aws<BatchClient>();
        var specs = plan.Slots.Where(s => s.Spec is not null).Select(s => s.Spec!).ToArray();
        var problems = 0;

        var queues = specs.Select(s => s.Queue).Distinct(StringComparer.Ordinal).ToArray();
        var found = (await client.DescribeJobQueuesAsync(new DescribeJobQueuesRequest { JobQueues = queues }, cancellationToken)).JobQueues;
        foreach (var queue in queues)
        {
            var detail = found.FirstOrDefault(q => q.JobQueueName == queue || q.JobQueueArn == queue);
            if (detail is null)
            {
                context.Error.WriteLine($"queue {queue}: not found on AWS Batch ({client.Region})");
                problems++;
            }
            else
            {
                context.Output.WriteLine($"queue {queue}: {detail.State}");
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
                context.Error.WriteLine($"job definition {definition}: not found on AWS Batch ({client.Region})");
                problems++;
            }
            else
            {
                context.Output.WriteLine($"job definition {definition}: found");
            }
        }

        return problems;
    }

}

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

            context.Output.WriteLine($"{Path.GetFileName(path)}: invalid ({e.Errors.Count} errors)");
            return ExitCodes.NotOk;
        }

        var location = new WorkflowLocation(WorkflowFiles.ProjectOf(path), Path.GetFileName(path), Path.GetDirectoryName(path)!);
        var plan = WorkflowPlanner.Plan(loaded.Workflow, loaded.Samples, location, context.Options.Retry.ToLimits());
        var invalid = plan.Slots.Where(s => s.Spec is null).ToArray();
        context.Output.WriteLine($"workflow {plan.WorkflowName}: {loaded.Samples.Count} samples × {plan.Analyses.Count} analyses = {plan.Slots.Count} slots, {invalid.Length} invalid");
        foreach (var note in loaded.Workflow.Notes)
        {
            context.Output.WriteLine($"note: {note}");
        }

        foreach (var slot in plan.Slots.Where(s => s.Spec is not null).Take(show))
        {
            var spec = slot.Spec!;
            context.Output.WriteLine($"slot {slot.Sample} / {slot.Analysis}: job {spec.JobName}");
            context.Output.WriteLine($"  queue {spec.Job.Queue}, definition {spec.Job.JobDefinition}, vcpus {spec.Job.Vcpus?.ToString(CultureInfo.InvariantCulture) ?? "-"}, memory {spec.Job.MemoryMiB?.ToString(CultureInfo.InvariantCulture) ?? "-"}");
            if (spec.Job.Command is { } command)
            {
                context.Output.WriteLine($"  command {string.Join(' ', command.Select(c => Template.Finalize(c, 1)))}");
            }

            context.Output.WriteLine($"  outputs {string.Join(' ', spec.Outputs.Select(o => o.Uri))}");
        }

        foreach (var slot in invalid)
        {
            context.Error.WriteLine($"slot {slot.Sample} / {slot.Analysis}: {slot.Error}");
        }

        // s3:// outputs with the Local backend configured (unless --aws asks about AWS anyway): the daemon could not check them.
        if (!aws && Outputs.BackendOutputs.Unsupported(loaded.Workflow, context.Options.Backend, Path.GetFileName(path)) is { } unsupported)
        {
            context.Error.WriteLine(unsupported);
            return ExitCodes.NotOk;
        }

        var missing = 0;
        if (aws)
        {
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


    /// <summary><c>validate --aws</c>: every queue must exist and be ENABLED, every job definition must exist and be ACTIVE.</summary>
    private async Task<int> CheckOnBatchAsync(WorkflowPlan plan, CancellationToken cancellationToken)
    {
        var client = context.Aws<BatchClient>();
        var specs = plan.Slots.Where(s => s.Spec is not null).Select(s => s.Spec!).ToArray();
        var problems = 0;

        var queues = specs.Select(s => s.Job.Queue).Distinct(StringComparer.Ordinal).ToArray();
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

using System.Text;
using Batchkeeper.Core.Planning;
using Batchkeeper.Core.Workflows;
using Batchkeeper.Daemon.Snapshots;
using Batchkeeper.Daemon.Workflows;

namespace Batchkeeper.Daemon.Cli.Commands;

/// <summary><c>create</c>: a definition validated against a project's samples and installed.</summary>
internal sealed class CreateCommand(CliContext context)
{
    /// <summary><c>create</c>: validates a definition against the project's samples and writes it as a workflow file.</summary>
    public async Task<int> CreateAsync(string project, string definitionPath, bool force, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(context.ProjectsRoot, project);
        if (!Directory.Exists(folder))
        {
            return context.Fail(ExitCodes.Usage, $"project '{project}' does not exist under {context.ProjectsRoot}: run 'batchkeeper import' first");
        }

        if (!File.Exists(definitionPath))
        {
            return context.Fail(ExitCodes.Usage, $"{definitionPath}: no such file");
        }

        var text = await File.ReadAllTextAsync(definitionPath, cancellationToken);
        Workflow workflow;
        IReadOnlyList<Sample> samples;
        try
        {
            workflow = WorkflowParser.Parse(text, Path.GetFileName(definitionPath), project);
            samples = await new FileWorkflowSource().LoadSamplesAsync(workflow, folder, Path.GetFileName(definitionPath), cancellationToken);
        }
        catch (InputException e)
        {
            foreach (var problem in e.Errors)
            {
                context.Error.WriteLine(problem);
            }

            return NotCreated(definitionPath, CliFormat.Count(e.Errors.Count, "error", "errors"));
        }

        var target = Path.Combine(folder, workflow.Name + ".json");
        var plan = WorkflowPlanner.Plan(workflow, samples, new WorkflowLocation(project, Path.GetFileName(target), folder), context.Options.Retry.ToLimits());
        var invalid = plan.Slots.Where(s => s.Spec is null).ToArray();
        foreach (var line in CliFormat.InvalidSlots(invalid))
        {
            context.Error.WriteLine(line);
        }

        if (invalid.Length > 0)
        {
            return NotCreated(definitionPath, $"{invalid.Length} of {CliFormat.Count(plan.Slots.Count, "slot", "slots")} invalid");
        }

        if (Outputs.BackendOutputs.Unsupported(workflow, context.Options.Backend, Path.GetFileName(definitionPath)) is { } unsupported)
        {
            context.Error.WriteLine(unsupported);
            return NotCreated(definitionPath, $"the {context.Options.Backend} backend cannot run it");
        }

        if (File.Exists(target) && !force)
        {
            return context.Fail(ExitCodes.Usage, $"{target} exists; use --force to replace it");
        }

        await AtomicFile.WriteAsync(target, Encoding.UTF8.GetBytes(text), cancellationToken);
        context.Output.WriteLine($"created {target}: {CliFormat.Count(plan.Slots.Count, "slot", "slots")} ({CliFormat.Count(samples.Count, "sample", "samples")} × {CliFormat.Count(plan.Analyses.Count, "analysis", "analyses")})");
        return ExitCodes.Ok;
    }

    /// <summary>The definition was checked and found wanting (exit 1, as <c>validate</c>); nothing was written.</summary>
    private int NotCreated(string definitionPath, string why) =>
        context.Fail(ExitCodes.NotOk, $"{definitionPath}: not created ({why}); 'batchkeeper validate' shows the same checks");

}

using System.Text;
using Batchkeeper.Core.Workflows;
using Batchkeeper.Daemon.Snapshots;
using Batchkeeper.Daemon.Watching;

namespace Batchkeeper.Daemon.Cli.Commands;

/// <summary><c>cancel</c>: <c>cancel: true</c> set in a workflow file.</summary>
internal sealed class CancelCommand(CliContext context)
{
    /// <summary><c>cancel</c>: sets <c>"cancel": true</c>, keeping the rest of the file (comments included) as it is.</summary>
    public async Task<int> CancelAsync(string workflowPath, bool yes, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(workflowPath);
        if (!context.Exists(path, out var code))
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
            return context.Fail(ExitCodes.Usage, $"cannot cancel an invalid workflow: {e.Message}");
        }

        if (before.Cancel)
        {
            context.Output.WriteLine($"{Path.GetFileName(path)} is already cancelled");
            return ExitCodes.Ok;
        }

        if (!yes)
        {
            context.Output.Write($"Cancel workflow {before.Name} ({path})? Its active jobs will be terminated. [y/N] ");
            var answer = (await context.Input.ReadLineAsync(cancellationToken))?.Trim();
            if (answer is null)
            {
                // No one to answer (standard input closed, as in a script): a usage error, not a "no".
                context.Output.WriteLine();
                return context.Fail(ExitCodes.Usage, "cancel: no answer on standard input; pass --yes to cancel without asking");
            }

            if (answer is not ("y" or "Y" or "yes"))
            {
                // Declining is an answer, not a failure (as rm -i and apt): the file is left as it was.
                context.Output.WriteLine("not cancelled");
                return ExitCodes.Ok;
            }
        }

        var edited = SetCancel(text);
        var after = WorkflowParser.Parse(edited, Path.GetFileName(path), WorkflowFiles.ProjectOf(path));
        if (!after.Cancel)
        {
            return context.Fail(ExitCodes.Usage, $"{path}: could not set cancel: true; edit the file by hand");
        }

        await AtomicFile.WriteAsync(path, Encoding.UTF8.GetBytes(edited), cancellationToken);
        context.Output.WriteLine($"{Path.GetFileName(path)}: cancel set; the daemon terminates its active jobs on its next pass");
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

}

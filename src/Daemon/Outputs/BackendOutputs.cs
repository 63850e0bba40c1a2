using Batchkeeper.Core.Workflows;
using Batchkeeper.Daemon.Hosting;

namespace Batchkeeper.Daemon.Outputs;

/// <summary>
/// What the configured backend cannot do with a workflow: <c>s3://</c> outputs on the Local backend (which has no S3
/// store), and a timeout under AWS Batch's minimum of 60 seconds on the AWS backend (the Local backend takes any).
/// </summary>
public static class BackendOutputs
{
    /// <summary>AWS Batch refuses an attempt duration below this (SubmitJob's <c>timeout.attemptDurationSeconds</c>).</summary>
    public const int AwsMinimumTimeoutSeconds = 60;

    /// <summary>One error naming the first such output or timeout, or null when the backend can run the workflow as written.</summary>
    public static InputError? Unsupported(Workflow workflow, BackendKind backend, string fileName)
    {
        if (backend != BackendKind.Local)
        {
            return ShortTimeout(workflow, fileName);
        }

        for (var i = 0; i < workflow.Analyses.Count; i++)
        {
            var s3 = workflow.Analyses[i].Outputs.Count(IsS3Object);
            if (s3 > 0)
            {
                var first = workflow.Analyses[i].Outputs.First(IsS3Object);
                return new InputError(fileName, $"analyses[{i}].outputs",
                    $"'{Quoted.Name(first)}'{(s3 > 1 ? $" and {s3 - 1} more" : "")} are on S3, but the Local backend checks only file outputs: set Batchkeeper:Backend to Aws (Batchkeeper__Backend=Aws) or use file outputs");
            }
        }

        return null;
    }

    private static InputError? ShortTimeout(Workflow workflow, string fileName)
    {
        for (var i = 0; i < workflow.Analyses.Count; i++)
        {
            if (workflow.Analyses[i].TimeoutSeconds is { } seconds and < AwsMinimumTimeoutSeconds)
            {
                return new InputError(fileName, $"analyses[{i}].timeout_seconds",
                    $"{seconds} seconds is below AWS Batch's minimum of {AwsMinimumTimeoutSeconds} (the Local backend takes any timeout)");
            }
        }

        return null;
    }

    /// <summary>An S3 object URI (bucket and key); a malformed one is the planner's to report.</summary>
    private static bool IsS3Object(string output) =>
        output.StartsWith("s3://", StringComparison.OrdinalIgnoreCase) && output.IndexOf('/', 5) is > 5 and var slash && slash < output.Length - 1;
}

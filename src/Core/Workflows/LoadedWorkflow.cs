namespace Batchkeeper.Core.Workflows;

/// <summary>A workflow file read with its samples.</summary>
/// <param name="Sha256">Of the workflow file's bytes.</param>
/// <param name="SamplesSha256">Of the metadata file's bytes (the workflow's own hash when its samples are inline).</param>
public sealed record LoadedWorkflow(Workflow Workflow, IReadOnlyList<Sample> Samples, string Sha256, string SamplesSha256 = "");

namespace Batchkeeper.Core.Planning;

/// <summary>Where a workflow file sits: its project and folder.</summary>
/// <param name="Project">The project folder's name.</param>
/// <param name="FileName">The workflow file's name, e.g. <c>wordcount.json</c>.</param>
/// <param name="ProjectDirectory">The project folder's absolute path; relative outputs resolve against it.</param>
public sealed record WorkflowLocation(string Project, string FileName, string ProjectDirectory);

/// <summary>One (sample, analysis) pair, with its expanded job or the reason it cannot be expanded.</summary>
public sealed record PlannedSlot(string Sample, int AnalysisIndex, string Analysis, JobSpec? Spec, string? Error);

/// <summary>A workflow expanded over its samples: every slot, in sample order then chain order.</summary>
public sealed record WorkflowPlan(
    WorkflowLocation Location,
    string WorkflowName,
    bool Cancel,
    IReadOnlyList<string> Analyses,
    IReadOnlyList<PlannedSlot> Slots);

namespace Batchkeeper.Daemon.Watching;

/// <summary>Which files under the projects root are workflows, metadata, or to be ignored.</summary>
public static class WorkflowFiles
{
    public const string Dashboard = "dashboard.json";
    public static readonly string[] MetadataFiles = ["metadata.csv", "metadata.json"];

    /// <summary>
    /// A workflow is <c>&lt;root&gt;/&lt;project&gt;/&lt;name&gt;.json</c>, except <c>metadata.json</c>, the daemon's own files
    /// (<c>*.status.json</c>, <c>dashboard.json</c>), hidden files and editor temporaries, and anything reached
    /// through a link that leaves the root.
    /// </summary>
    public static bool IsWorkflow(string root, string path)
    {
        if (!IsInProjectFolder(root, path, out var name) || !name.EndsWith(".json", StringComparison.Ordinal))
        {
            return false;
        }

        return !name.EndsWith(Snapshots.FileSnapshotStore.Suffix, StringComparison.Ordinal)
               && !name.EndsWith(Workflows.RetryRequestFile.Suffix, StringComparison.Ordinal)
               && name != "metadata.json"
               && name != Dashboard;
    }

    /// <summary>
    /// A project's sample file: <c>metadata.json</c> or any <c>*.csv</c> in the project folder (a workflow's
    /// <c>samples</c> may name one). A change re-runs every workflow of the project.
    /// </summary>
    public static bool IsMetadata(string root, string path) =>
        IsInProjectFolder(root, path, out var name) && (name == "metadata.json" || name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase));

    /// <summary>A retry request file, <c>&lt;name&gt;.retry.json</c>: a change runs a pass of its workflow.</summary>
    public static bool IsRetryRequest(string root, string path) =>
        IsInProjectFolder(root, path, out var name) && name.EndsWith(Workflows.RetryRequestFile.Suffix, StringComparison.Ordinal);

    /// <summary>Every workflow file under <paramref name="root"/>, found by listing the folders.</summary>
    public static IEnumerable<string> Scan(string root)
    {
        if (!Directory.Exists(root))
        {
            yield break;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var project in SafeEnumerate(() => Directory.EnumerateDirectories(root)))
        {
            foreach (var file in SafeEnumerate(() => Directory.EnumerateFiles(project, "*.json")))
            {
                // A project or a file reached through a link inside the root is managed once, under its real path.
                if (IsWorkflow(root, file) && Canonical(root, file) is { } real && IsWorkflow(root, real) && seen.Add(real))
                {
                    yield return real;
                }
            }
        }
    }

    /// <summary>
    /// The path of <paramref name="path"/> with every link under the root resolved (the root written as configured),
    /// or null when it is gone or leads outside the root: the one name under which a file is managed.
    /// </summary>
    public static string? Canonical(string root, string path) => Files.ProjectFile.Canonical(path, root);

    /// <summary>The project (folder) name of a file directly inside a project folder.</summary>
    public static string ProjectOf(string path) => Path.GetFileName(Path.GetDirectoryName(path))!;

    /// <summary>The location of a workflow file, as the Core's ports and planner name it.</summary>
    public static Core.Planning.WorkflowLocation LocationOf(string path) =>
        new(ProjectOf(path), Path.GetFileName(path), Path.GetDirectoryName(path)!);

    private static bool IsInProjectFolder(string root, string path, out string name)
    {
        name = Path.GetFileName(path);
        var fullRoot = Path.GetFullPath(root);
        var full = Path.GetFullPath(path);
        var project = Path.GetDirectoryName(full);
        if (project is null || Path.GetDirectoryName(project) != fullRoot.TrimEnd(Path.DirectorySeparatorChar))
        {
            return false;
        }

        if (IsIgnoredName(name) || IsIgnoredName(Path.GetFileName(project)))
        {
            return false;
        }

        return !LeavesRoot(fullRoot, project) && !LeavesRoot(fullRoot, full);
    }

    private static bool IsIgnoredName(string name) =>
        name.StartsWith('.') || name.StartsWith('#') || name.EndsWith('~') || name.EndsWith(".swp", StringComparison.Ordinal)
        || name.EndsWith(".swx", StringComparison.Ordinal) || name.EndsWith(".tmp", StringComparison.Ordinal);

    /// <summary>True when <paramref name="path"/> is a link whose final target is outside the root.</summary>
    private static bool LeavesRoot(string root, string path)
    {
        try
        {
            var info = new FileInfo(path);
            var target = info.LinkTarget is not null ? info.ResolveLinkTarget(returnFinalTarget: true) : null;
            if (target is null && Directory.Exists(path))
            {
                var directory = new DirectoryInfo(path);
                target = directory.LinkTarget is not null ? directory.ResolveLinkTarget(returnFinalTarget: true) : null;
            }

            if (target is null)
            {
                return false;
            }

            var resolvedRoot = Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
            return !Path.GetFullPath(target.FullName).StartsWith(resolvedRoot, StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return true;
        }
    }

    private static string[] SafeEnumerate(Func<IEnumerable<string>> list)
    {
        try
        {
            return list().ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}

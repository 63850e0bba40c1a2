namespace Batchkeeper.Daemon.Tests.Infrastructure;

/// <summary>Finds the repository (and shared/ beside it) from wherever the tests run.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Shared => Path.GetFullPath(Path.Combine(Root, "..", "shared"));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Batchkeeper.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Batchkeeper.sln not found above {AppContext.BaseDirectory}");
    }
}

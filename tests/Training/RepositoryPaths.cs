namespace ChatCluster.Tests.Training;

internal static class RepositoryPaths
{
    /// <summary>The folder holding Cluster.sln, found by walking up from the test binaries.</summary>
    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Cluster.sln")))
                return dir.FullName;
        throw new InvalidOperationException("Cluster.sln not found above " + AppContext.BaseDirectory);
    }
}

namespace ChatCluster.Tests.Infrastructure;

/// <summary>Where the tests find the repository's models and data.</summary>
public static class TestPaths
{
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>The tiny exported model committed for tests (tests/data/tiny-model).</summary>
    public static string TinyModel => Path.Combine(RepositoryRoot, "tests", "data", "tiny-model");

    /// <summary>The bundled default model (models/chatcluster-tiny).</summary>
    public static string BundledModel => Path.Combine(RepositoryRoot, "models", "chatcluster-tiny");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Cluster.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Cluster.sln above {AppContext.BaseDirectory}.");
    }
}

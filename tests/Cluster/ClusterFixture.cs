using System.Globalization;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Cluster;

/// <summary>
/// A cluster as users run one on a machine: a real redis-server (AOF, fsync always) and three silo processes
/// pointing at it, each with its own HTTP and silo port, the test model, and one shared cluster id.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const int Size = 3;

    public RedisServer Redis { get; } = new();

    public IReadOnlyList<SiloProcess> Nodes { get; private set; } = [];

    public async Task InitializeAsync()
    {
        await Redis.InitializeAsync();
        Nodes = await Task.WhenAll(Enumerable.Range(0, Size).Select(_ => StartNodeAsync()));
    }

    /// <summary>Another silo of the same cluster (its own process), e.g. one a test will kill.</summary>
    public Task<SiloProcess> StartNodeAsync(params string[] extraArguments) =>
        SiloProcess.StartAsync(["--model", TestPaths.TinyModel, "--redis", Redis.Endpoint, "--cluster-id", "test-cluster", .. extraArguments]);

    public async Task DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        await Redis.DisposeAsync();
    }
}

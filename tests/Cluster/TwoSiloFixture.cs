using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Cluster;

/// <summary>
/// Two silos of one cluster in this process, on a real redis-server, so a test can watch each node's engine
/// while the grain calls between them cross loopback TCP as between machines. One batch row per engine: a row
/// that was not freed would block the next request.
/// </summary>
public sealed class TwoSiloFixture : IAsyncLifetime
{
    public RedisServer Redis { get; } = new();

    public ServerFixture First { get; private set; } = null!;

    public ServerFixture Second { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Redis.InitializeAsync();
        First = new Node(Redis.Endpoint);
        Second = new Node(Redis.Endpoint);
        await Task.WhenAll(First.InitializeAsync(), Second.InitializeAsync());
    }

    public async Task DisposeAsync()
    {
        await Task.WhenAll(First.DisposeAsync(), Second.DisposeAsync());
        await Redis.DisposeAsync();
    }

    private sealed class Node(string redis) : ServerFixture
    {
        // The bundled model: its longer window makes a reply last long enough to hang up in the middle of it.
        protected override string[] Arguments => ["--redis", redis, "--max-batch", "1"];
    }
}

namespace ChatCluster.Tests.Infrastructure;

/// <summary>
/// Two silos of one cluster in this process, on a real redis-server, so a test can watch each node while the
/// grain calls between them cross loopback TCP as between machines. <paramref name="arguments"/> gives a
/// node's command line from the Redis endpoint; <paramref name="startupKey"/> is the key of a keyed cluster.
/// </summary>
public class TwoSiloCluster(Func<string, string[]> arguments, string? startupKey = null) : IAsyncLifetime
{
    public RedisServer Redis { get; } = new();

    public ServerFixture First { get; private set; } = null!;

    public ServerFixture Second { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Redis.InitializeAsync();
        First = new Node(arguments(Redis.Endpoint), startupKey);
        Second = new Node(arguments(Redis.Endpoint), startupKey);
        await Task.WhenAll(First.InitializeAsync(), Second.InitializeAsync());
    }

    public async Task DisposeAsync()
    {
        await Task.WhenAll(First.DisposeAsync(), Second.DisposeAsync());
        await Redis.DisposeAsync();
    }

    private sealed class Node(string[] arguments, string? startupKey) : ServerFixture
    {
        protected override string[] Arguments => arguments;

        protected override string? StartupKey => startupKey;
    }
}

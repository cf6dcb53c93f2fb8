using ChatCluster.Silo.Redis;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Redis;

/// <summary>
/// Tests that share one redis-server per class, each test with its own connection and its own key prefix, so
/// tests running side by side never see each other's keys.
/// </summary>
public abstract class SharedRedisServerTest(RedisServer server) : IClassFixture<RedisServer>, IAsyncLifetime
{
    protected RedisServer Server { get; } = server;

    protected RedisConnection Redis { get; private set; } = null!;

    /// <summary>Prepended to every key a test uses.</summary>
    protected string Prefix { get; } = $"test:{Guid.NewGuid():N}:";

    public async Task InitializeAsync() => Redis = await Server.ConnectAsync();

    public async Task DisposeAsync() => await Redis.DisposeAsync();
}

namespace ChatCluster.Tests.Infrastructure;

/// <summary>
/// A test class each of whose tests gets a redis-server of its own, started before the test and stopped after
/// it: for tests that kill Redis, or whose silos must not meet another test's in one membership table.
/// </summary>
public abstract class RedisPerTest : IAsyncLifetime
{
    protected RedisServer Redis { get; } = new();

    public Task InitializeAsync() => Redis.InitializeAsync();

    public Task DisposeAsync() => Redis.DisposeAsync();
}

namespace ChatCluster.Tests.Infrastructure;

/// <summary>The real silo in this process on a real redis-server (membership and conversation state), with the test model.</summary>
public sealed class RedisServerFixture : ServerFixture
{
    public RedisServer Redis { get; } = new();

    protected override string[] Arguments => ["--model", TestPaths.TinyModel, "--redis", Redis.Endpoint];

    public override async Task InitializeAsync()
    {
        await Redis.InitializeAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Redis.DisposeAsync();
    }
}

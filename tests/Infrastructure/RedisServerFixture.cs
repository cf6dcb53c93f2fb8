namespace ChatCluster.Tests.Infrastructure;

/// <summary>The real silo in this process on a real redis-server (membership and conversation state), with the test model.</summary>
public sealed class RedisServerFixture : ServerFixture
{
    public RedisServer Redis { get; } = new();

    /// <summary>Small conversation limits, so that tests reach them in a few turns.</summary>
    public const int MaxConversationMessages = 10;

    public const int MaxConversationBytes = 4000;

    protected override string[] Arguments =>
    [
        "--model", TestPaths.TinyModel, "--redis", Redis.Endpoint,
        "--max-conversation-messages", MaxConversationMessages.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--max-conversation-bytes", MaxConversationBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
    ];

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

namespace ChatCluster.Silo.Redis;

/// <summary>How to reach a Redis server and how long to wait for it.</summary>
public sealed class RedisOptions
{
    public required RedisEndpoint Endpoint { get; init; }

    /// <summary>Sent with AUTH after every (re)connect when set (requirepass).</summary>
    public string? Password { get; init; }

    /// <summary>Selected with SELECT after every (re)connect when not 0.</summary>
    public int Database { get; init; }

    /// <summary>Bounds the TCP connect plus AUTH/SELECT of one attempt.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// From the call to the reply, including any wait for a reconnect. Blocking commands (BLPOP) must block for
    /// less than this.
    /// </summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The wait before the first reconnect attempt; it doubles with each failed attempt.</summary>
    public TimeSpan InitialReconnectBackoff { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The cap of the doubling, so a server that comes back is found within this long.</summary>
    public TimeSpan MaxReconnectBackoff { get; init; } = TimeSpan.FromSeconds(2);

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(Database);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ConnectTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(CommandTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(InitialReconnectBackoff, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxReconnectBackoff, InitialReconnectBackoff);
    }
}

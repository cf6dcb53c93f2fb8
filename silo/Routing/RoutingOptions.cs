namespace ChatCluster.Silo.Routing;

/// <summary>The default routing policy's limits (<see cref="CacheAwareRouter"/>).</summary>
public sealed record RoutingOptions
{
    /// <summary>
    /// Requests that may wait at the engine holding a conversation's cache before its turn goes to the least
    /// loaded engine instead (and prefills its whole history there).
    /// </summary>
    public int AffinityQueueLimit { get; init; } = 8;

    /// <summary>How much busier than the least loaded engine a stateless request's prefix engine may be and still get it.</summary>
    public int PrefixLoadSlack { get; init; } = 2;

    /// <summary>Routing off: every request goes to a random engine (the bench's baseline for cache routing).</summary>
    public bool Random { get; init; }
}

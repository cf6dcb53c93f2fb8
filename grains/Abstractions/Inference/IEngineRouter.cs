namespace ChatCluster.Grains.Inference;

/// <summary>Why a request went to the engine it went to (the routing counter's tag).</summary>
public enum RouteReason
{
    /// <summary>The engine holds the conversation's KV cache from its last turn.</summary>
    Cache,

    /// <summary>A stateless request went to the engine its prompt prefix hashes to (its kept cache, if any, is there).</summary>
    Prefix,

    /// <summary>No affinity: the engine with the least queued and running work.</summary>
    LeastLoaded,

    /// <summary>There was an affinity, but that engine was gone, draining, failing or too busy: the least loaded instead.</summary>
    Fallback,

    /// <summary>Routing off (<c>--routing random</c>): any engine, the baseline that cache routing is measured against.</summary>
    Random,
}

/// <summary>What a request brings to routing: the engine holding its conversation's cache, or its prompt's prefix key.</summary>
public readonly record struct RouteHint(string? CacheEngine = null, string? PrefixKey = null);

/// <summary>A routing decision.</summary>
public readonly record struct EngineRoute(string Engine, RouteReason Reason);

/// <summary>
/// Picks the engine that runs a request, from loads the engines publish (no remote call per decision). The
/// silo supplies the policy; the default one is documented on its class (CacheAwareRouter).
/// </summary>
public interface IEngineRouter
{
    /// <summary>The models served by engines known now (empty until the first engine reports).</summary>
    IReadOnlyCollection<string> Models { get; }

    /// <summary>
    /// The engine for a request with <paramref name="hint"/>, never one of <paramref name="exclude"/> (engines
    /// that already failed this request). Throws <see cref="NoEngineException"/> when none can take it.
    /// </summary>
    EngineRoute Route(RouteHint hint, IReadOnlyCollection<string> exclude);

    /// <summary>The engine failed a request before producing anything: not chosen again until it reports afresh.</summary>
    void MarkFailed(string engine);
}

using ChatCluster.Inference;

namespace ChatCluster.Grains.Inference;

/// <summary>
/// How a conversation grain or the gateway runs a generation in the cluster: the router picks an engine, and
/// the reply streams from its inference grain (or, when the engine is on this silo, from the engine itself). An engine that fails before its first event (its silo died or
/// is draining, or it is not there any more) is marked and the request goes to the next choice, so a
/// request that raced an engine's departure is served by a survivor; a failure after the first event ends the
/// stream, since the caller has already seen part of a reply.
/// </summary>
public sealed class InferenceClient(IGrainFactory grains, IEngineRouter router, SiloAddress localSilo, ILocalEngines? localEngines)
{
    /// <summary>The key prefix of this silo's engines (<see cref="EngineKey"/>): what the rest of such a key names is a device.</summary>
    private readonly string _localPrefix = EngineKey.Of(localSilo, "");

    /// <summary>Engines tried for one request at most, so a cluster in flux cannot keep a request looping.</summary>
    private const int MaxAttempts = 4;

    /// <summary>
    /// Streams the reply to <paramref name="request"/>. <paramref name="routed"/> hears each decision (the last
    /// one served the reply): a conversation keeps it as the engine that holds its cache.
    /// </summary>
    public IAsyncEnumerable<ChatDelta> ChatAsync(
        ChatRequest request, RouteHint hint, Action<EngineRoute>? routed = null, CancellationToken cancellationToken = default)
    {
        var failed = new List<string>();
        EngineRoute route = default;
        return RetryBeforeFirstEvent.StreamAsync(
            token =>
            {
                route = router.Route(hint, failed);
                routed?.Invoke(route);
                return (route.Engine.StartsWith(_localPrefix, StringComparison.Ordinal)
                        ? localEngines?.Chat(route.Engine[_localPrefix.Length..], request, token)
                        : null)
                    ?? grains.GetGrain<IInferenceGrain>(route.Engine).ChatAsync(request, localSilo, token);
            },
            e =>
            {
                if (!ClusterFaults.IsEngineGone(e) || failed.Count + 1 >= MaxAttempts)
                {
                    return ValueTask.FromResult(false);
                }

                router.MarkFailed(route.Engine);
                failed.Add(route.Engine);
                return ValueTask.FromResult(true);
            },
            cancellationToken);
    }
}

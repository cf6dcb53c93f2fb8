using ChatCluster.Inference;

namespace ChatCluster.Grains.Inference;

/// <summary>
/// The engines of the caller's own silo, for <see cref="InferenceClient"/> to call directly when the router
/// picks one of them: a local inference grain would only add Orleans' stream messaging to every batch of tokens
/// (0.92x the tokens/s of calling the engine in place, one node, 16 streams: bench/results/routing-vs-12e1fb4).
/// </summary>
public interface ILocalEngines
{
    /// <summary>
    /// The reply from this silo's engine on <paramref name="device"/>, or null if it has none. A draining engine's
    /// stream fails at its first step with <see cref="EngineUnavailableException"/>, as its grain's does.
    /// </summary>
    IAsyncEnumerable<ChatDelta>? Chat(string device, ChatRequest request, CancellationToken cancellationToken);
}

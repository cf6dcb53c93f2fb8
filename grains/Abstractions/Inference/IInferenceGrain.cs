using ChatCluster.Inference;

namespace ChatCluster.Grains.Inference;

/// <summary>
/// One inference engine (one model on one device of one silo), as the cluster addresses it. Key: see
/// <see cref="EngineKey"/>; the activation is pinned to the silo the key names and never moves. It batches
/// every request sent to it, from any silo, into its engine's steps.
/// </summary>
[Alias("chatcluster.inference")]
public interface IInferenceGrain : IGrainWithStringKey
{
    /// <summary>
    /// Streams the reply to <paramref name="request"/>. <paramref name="caller"/> is the silo that reads the
    /// stream: if it leaves the cluster, the sequence is cancelled at once instead of decoding for nobody until
    /// Orleans' response timeout. Cancelling frees the batch row within one step. A draining engine refuses
    /// new requests with <see cref="EngineUnavailableException"/> before generating anything.
    /// </summary>
    [Alias("chat")]
    IAsyncEnumerable<ChatDelta> ChatAsync(ChatRequest request, SiloAddress caller, CancellationToken cancellationToken = default);

    /// <summary>What the routers read: queue depth, rows, draining (polled about twice a second by every routing silo).</summary>
    [Alias("load")]
    Task<EngineLoad> GetLoadAsync();
}

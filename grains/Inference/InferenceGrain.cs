using ChatCluster.Grains;

namespace ChatCluster.Inference;

/// <summary>
/// The grain face of a loaded model on this silo. Reentrant: the engine's scheduler is the concurrency model,
/// serving every caller in shared batches. Key: the model id.
/// </summary>
[Reentrant]
public sealed class InferenceGrain(InferenceEngine engine) : Grain, IInferenceGrain
{
    public Task<ModelInfo> GetInfoAsync()
    {
        EnsureServed();
        return Task.FromResult(engine.Info);
    }

    public Task<int> CountPromptTokensAsync(IReadOnlyList<ChatMessage> messages)
    {
        EnsureServed();
        return Task.FromResult(engine.CountPromptTokens(messages));
    }

    public IAsyncEnumerable<ChatDelta> ChatAsync(ChatRequest request, CancellationToken cancellationToken = default)
    {
        EnsureServed();
        return engine.ChatAsync(request, cancellationToken);
    }

    private void EnsureServed()
    {
        if (!string.Equals(Id.Key, engine.Info.Id, StringComparison.Ordinal))
        {
            throw new NotFoundException($"The model '{Id.Key}' does not exist; this server serves '{engine.Info.Id}'.");
        }
    }
}

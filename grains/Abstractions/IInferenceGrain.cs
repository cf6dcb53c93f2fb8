namespace ChatCluster.Grains;

/// <summary>
/// Owns one model on one device of a silo and batches the requests of all conversations into each model
/// step. Key: the model id. Reentrant: every caller streams at once.
/// </summary>
public interface IInferenceGrain : IGrain
{
    Task<ModelInfo> GetInfoAsync();

    /// <summary>Tokens in these messages once formatted with the chat template (for window accounting).</summary>
    Task<int> CountPromptTokensAsync(IReadOnlyList<ChatMessage> messages);

    /// <summary>
    /// Streams the reply. Throws <see cref="OverloadedException"/> when the queue is full,
    /// <see cref="PromptTooLongException"/> or <see cref="InvalidRequestException"/> for bad requests, before the
    /// first event. Stopping the enumeration (or cancelling) frees the sequence's batch slot within one step.
    /// </summary>
    IAsyncEnumerable<ChatDelta> ChatAsync(ChatRequest request, CancellationToken cancellationToken = default);
}

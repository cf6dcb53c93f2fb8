namespace ChatCluster.Inference;

/// <summary>
/// A chat completion asked of an inference grain: the messages are formatted with the model's chat template
/// and tokenized there (user text never becomes control tokens).
/// </summary>
public sealed record ChatRequest
{
    public required IReadOnlyList<ChatMessage> Messages { get; init; }

    public SamplingParameters Sampling { get; init; } = new();

    /// <summary>
    /// Functions shown to the model in its prompt. Whether and which it may call is the sampling constraint's
    /// business (<see cref="OutputConstraintKind.ToolCalls"/>); with none, a call is only text.
    /// </summary>
    public IReadOnlyList<ToolDefinition> Tools { get; init; } = [];

    /// <summary>
    /// When set (a conversation's id), the sequence's KV cache is kept after it ends, so that the next turn of
    /// the same conversation prefills only its new tokens.
    /// </summary>
    public string? CacheKey { get; init; }

    /// <summary>
    /// When the prompt does not fit the context window (leaving room for at least one reply token): drop the
    /// oldest non-system messages until it does (true), or fail with <see cref="PromptTooLongException"/> (false).
    /// </summary>
    public bool TruncateOldest { get; init; }
}

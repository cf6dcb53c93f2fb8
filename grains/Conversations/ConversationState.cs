using ChatCluster.Inference;

namespace ChatCluster.Conversations;

/// <summary>
/// A conversation as stored. Immutable: a turn builds the next state and replaces this one only once it is
/// written, so a turn cut short cannot leave half of itself behind, in memory or in storage.
/// Stored as JSON whose property names (camelCase) are the schema: no .NET type name is stored, so renaming
/// a type never orphans stored conversations (see the silo's JsonGrainStateSerializer).
/// </summary>
public sealed record ConversationState
{
    /// <summary>False until created, and again once deleted (a fresh state is what storage without a record reads as).</summary>
    public bool Exists { get; init; }

    /// <summary>The API key's id that created it ("" with open access); other owners are told it does not exist.</summary>
    public string Owner { get; init; } = "";

    /// <summary>Kept apart from <see cref="Messages"/>: it always leads the prompt, and truncation never drops it.</summary>
    public string? SystemPrompt { get; init; }

    /// <summary>Sampling for turns that bring none of their own.</summary>
    public SamplingParameters? Defaults { get; init; }

    /// <summary>
    /// User, assistant and tool messages, in order; each completed turn appends its user message (or its tool
    /// results) and the reply, with the tool calls the reply made.
    /// </summary>
    public IReadOnlyList<ChatMessage> Messages { get; init; } = [];

    public long CreatedUnixSeconds { get; init; }

    /// <summary>
    /// The engine (its grain key) that served the last committed turn and so holds this conversation's KV cache:
    /// the router sends the next turn there. Stored with the turn, so the affinity survives the conversation
    /// moving to another silo; an engine that is gone by then is simply not chosen.
    /// </summary>
    public string? CacheEngine { get; init; }

    /// <summary>The idempotency keys of the last <see cref="ConversationLimits.IdempotencyKeys"/> keyed turns, oldest first.</summary>
    public IReadOnlyList<KeyedTurn> KeyedTurns { get; init; } = [];
}

/// <summary>
/// A committed turn's idempotency key, what it was asked with, and what its reply reported, so that the same
/// request replays it exactly: the reply's text is the assistant message at <see cref="ReplyIndex"/>.
/// </summary>
public sealed record KeyedTurn(
    string Key, string RequestDigest, int ReplyIndex, FinishReason Finish, int PromptTokens, int CompletionTokens, int DroppedMessages, int CachedTokens);

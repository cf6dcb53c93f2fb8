namespace ChatCluster.Inference;

/// <summary>
/// One event of a streamed generation. Text arrives in <see cref="Text"/> deltas (whole UTF-8 characters,
/// never a stop string); the last event of a choice carries <see cref="Finish"/> and the usage counts.
/// </summary>
/// <param name="Index">The choice (0 unless beam search returns several).</param>
/// <param name="Text">Newly decoded text; may be empty.</param>
/// <param name="Finish">Set on the last event of the choice.</param>
/// <param name="PromptTokens">Tokens in the prompt as sent to the model.</param>
/// <param name="CompletionTokens">Tokens generated so far.</param>
/// <param name="DroppedMessages">Messages left out of the prompt to fit the context window.</param>
/// <param name="CachedTokens">Prompt tokens taken from a kept KV cache rather than prefilled (OpenAI's cached_tokens).</param>
/// <param name="ToolCall">A piece of a tool call, when the model is calling a tool (its text then is empty).</param>
public readonly record struct ChatDelta(
    int Index,
    string Text,
    FinishReason? Finish,
    int PromptTokens,
    int CompletionTokens,
    int DroppedMessages,
    int CachedTokens = 0,
    ToolCallDelta? ToolCall = null);

using ChatCluster.Inference;
using Microsoft.Extensions.Logging;

namespace ChatCluster.Conversations;

/// <summary>What a conversation tells its operators: ids and counts, never the text of a message.</summary>
public sealed partial class ConversationGrain
{
    [LoggerMessage(1, LogLevel.Information, "Conversation {ConversationId}: turn committed ({PromptTokens} prompt tokens, {CompletionTokens} completion tokens, {FinishReason})")]
    private static partial void TurnCommitted(ILogger logger, string conversationId, int promptTokens, int completionTokens, FinishReason finishReason);

    [LoggerMessage(2, LogLevel.Information, "Conversation {ConversationId}: a turn's idempotency key came again; its committed reply was replayed")]
    private static partial void TurnReplayed(ILogger logger, string conversationId);
}

using ChatCluster.Inference;

namespace ChatCluster.Grains;

public static class ConversationGrainExtensions
{
    /// <summary>A turn of one user message, with no tools: the common case.</summary>
    public static IAsyncEnumerable<ChatDelta> SendAsync(
        this IConversationGrain conversation, string owner, string content, SamplingParameters? sampling, TurnKey? key = null, CancellationToken cancellationToken = default) =>
        conversation.SendAsync(owner, new TurnInput([new ChatMessage(ChatMessage.User, content)], [], sampling, null), key, cancellationToken);
}

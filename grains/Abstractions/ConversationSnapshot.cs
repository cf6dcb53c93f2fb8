using ChatCluster.Inference;

namespace ChatCluster.Grains;

/// <summary>A conversation as returned by the API: its messages in order (system prompt first, if any).</summary>
[GenerateSerializer, Immutable, Alias("chatcluster.conversation-snapshot")]
public sealed record ConversationSnapshot(
    [property: Id(0)] string Id,
    [property: Id(1)] IReadOnlyList<ChatMessage> Messages,
    [property: Id(2)] long CreatedUnixSeconds);

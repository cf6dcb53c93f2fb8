namespace ChatCluster.Grains;

/// <summary>A conversation as returned by the API: its messages in order (system prompt first, if any).</summary>
public sealed record ConversationSnapshot(string Id, IReadOnlyList<ChatMessage> Messages, long CreatedUnixSeconds);

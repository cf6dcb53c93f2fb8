namespace ChatCluster.Conversations;

/// <summary>The grain storage provider conversations are stored in (Redis with --redis, else memory).</summary>
public static class ConversationStorage
{
    public const string Name = "conversations";
}

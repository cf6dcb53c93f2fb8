namespace ChatCluster.Conversations;

/// <summary>What conversation grains take from the silo's configuration (registered in DI as a singleton).</summary>
public sealed class ConversationOptions
{
    /// <summary>The loaded model's id: the key of the inference grain that answers every conversation.</summary>
    public required string ModelId { get; init; }
}

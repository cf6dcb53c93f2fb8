namespace ChatCluster.Grains;

/// <summary>
/// One conversation: its messages, owner, system prompt and default sampling. Key: the conversation id.
/// Turn-based: one call at a time. A turn is atomic: the user's message and the reply are stored together
/// when the reply completes; a turn cut short leaves the conversation as it was.
/// </summary>
public interface IConversationGrain : IGrain
{
    /// <summary>Creates the conversation, owned by <paramref name="owner"/> (an API key's id, or "" when open).</summary>
    Task CreateAsync(string owner, string? systemPrompt, SamplingParameters? defaults);

    /// <summary>The conversation as the owner sees it. Throws <see cref="NotFoundException"/> if it does not exist or belongs to another owner.</summary>
    Task<ConversationSnapshot> GetAsync(string owner);

    /// <summary>Runs one turn: streams the assistant's reply to <paramref name="content"/>.</summary>
    IAsyncEnumerable<ChatDelta> SendAsync(string owner, string content, SamplingParameters? sampling, CancellationToken cancellationToken = default);

    Task DeleteAsync(string owner);
}

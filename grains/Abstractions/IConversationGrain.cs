using ChatCluster.Inference;

namespace ChatCluster.Grains;

/// <summary>
/// One conversation: its messages, owner, system prompt and default sampling. Key: the conversation id.
/// Turns run one at a time, in arrival order, whichever node they came through. A turn is atomic: the user's
/// message and the reply are stored together when the reply completes; a turn cut short leaves the
/// conversation as it was.
/// </summary>
[Alias("chatcluster.conversation")]
public interface IConversationGrain : IGrainWithStringKey
{
    /// <summary>Creates the conversation, owned by <paramref name="owner"/> (an API key's id, or "" when open).</summary>
    [Alias("create")]
    Task CreateAsync(string owner, string? systemPrompt, SamplingParameters? defaults);

    /// <summary>The conversation as the owner sees it. Throws <see cref="NotFoundException"/> if it does not exist or belongs to another owner.</summary>
    [Alias("get")]
    Task<ConversationSnapshot> GetAsync(string owner);

    /// <summary>
    /// Runs one turn: streams the assistant's reply to <paramref name="input"/>'s messages (a user message, or the
    /// results of the last reply's tool calls). Cancelling (or dropping the
    /// enumerator) frees the sequence's batch slot within one decode step and stores nothing. With a
    /// <paramref name="key"/> already committed, nothing runs: the committed reply is streamed again (one event
    /// with its whole text, finish reason and usage); a key used with another request throws
    /// <see cref="IdempotencyConflictException"/>. A second call with a key whose turn is running waits for it.
    /// </summary>
    [Alias("send")]
    IAsyncEnumerable<ChatDelta> SendAsync(string owner, TurnInput input, TurnKey? key = null, CancellationToken cancellationToken = default);

    [Alias("delete")]
    Task DeleteAsync(string owner);
}

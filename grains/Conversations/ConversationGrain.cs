using System.Runtime.CompilerServices;
using System.Text;
using ChatCluster.Grains;

namespace ChatCluster.Conversations;

/// <summary>
/// One conversation (key: its id). Each turn sends the whole history to the model's inference grain, which
/// formats it with the chat template and drops the oldest turns if it does not fit the context window
/// (<see cref="ChatDelta.DroppedMessages"/> tells the caller). The turn is committed (user message and reply
/// together, written to storage) when the reply's final event arrives and before it is passed on, so a reply
/// the caller saw finish is durable; a turn that ends any other way stores nothing.
/// </summary>
public sealed class ConversationGrain(IPersistentState<ConversationState> state, ConversationOptions options, TimeProvider time)
    : Grain, IConversationGrain
{
    public Task CreateAsync(string owner, string? systemPrompt, SamplingParameters? defaults)
    {
        ArgumentNullException.ThrowIfNull(owner);
        if (state.State.Exists)
        {
            throw new InvalidRequestException($"Conversation '{Id.Key}' already exists.", "id");
        }

        return CommitAsync(new ConversationState
        {
            Exists = true,
            Owner = owner,
            SystemPrompt = string.IsNullOrEmpty(systemPrompt) ? null : systemPrompt,
            Defaults = defaults,
            CreatedUnixSeconds = time.GetUtcNow().ToUnixTimeSeconds(),
        });
    }

    public Task<ConversationSnapshot> GetAsync(string owner)
    {
        var conversation = OwnedBy(owner);
        return Task.FromResult(new ConversationSnapshot(Id.Key, WithSystemPrompt(conversation, []), conversation.CreatedUnixSeconds));
    }

    public async IAsyncEnumerable<ChatDelta> SendAsync(
        string owner, string content, SamplingParameters? sampling, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var conversation = OwnedBy(owner);
        if (string.IsNullOrWhiteSpace(content))
        {
            throw new InvalidRequestException("The message content must not be empty.", "content");
        }

        var question = new ChatMessage(ChatMessage.User, content);
        var request = new ChatRequest
        {
            Messages = WithSystemPrompt(conversation, question),
            Sampling = sampling ?? conversation.Defaults ?? new SamplingParameters(),
            CacheKey = Id.Key,
            TruncateOldest = true,
        };
        var reply = new StringBuilder();
        await foreach (var delta in GrainFactory.GetGrain<IInferenceGrain>(options.ModelId).ChatAsync(request, cancellationToken))
        {
            // The conversation keeps the first choice; beam search's other choices only stream through.
            if (delta.Index == 0)
            {
                reply.Append(delta.Text);
                if (delta.Finish is FinishReason.Stop or FinishReason.Length)
                {
                    await CommitAsync(conversation with
                    {
                        Messages = [.. conversation.Messages, question, new ChatMessage(ChatMessage.Assistant, reply.ToString())],
                    });
                }
            }

            yield return delta;
        }
    }

    public async Task DeleteAsync(string owner)
    {
        OwnedBy(owner);
        await state.ClearStateAsync();
    }

    /// <summary>The conversation if it exists and belongs to <paramref name="owner"/>; anyone else learns nothing about it.</summary>
    private ConversationState OwnedBy(string owner)
    {
        var conversation = state.State;
        return conversation.Exists && string.Equals(conversation.Owner, owner, StringComparison.Ordinal)
            ? conversation
            : throw new NotFoundException($"Conversation '{Id.Key}' was not found.");
    }

    /// <summary>System prompt (if any), the stored messages, then <paramref name="next"/>.</summary>
    private static ChatMessage[] WithSystemPrompt(ConversationState conversation, params ReadOnlySpan<ChatMessage> next)
    {
        var system = conversation.SystemPrompt is null ? [] : new[] { new ChatMessage(ChatMessage.System, conversation.SystemPrompt) };
        return [.. system, .. conversation.Messages, .. next];
    }

    /// <summary>Writes <paramref name="next"/>; the state in memory changes only if the write succeeds.</summary>
    private async Task CommitAsync(ConversationState next)
    {
        var previous = state.State;
        state.State = next;
        try
        {
            // Not the caller's token: once the reply is complete the turn is committed whether or not the caller still listens.
            await state.WriteStateAsync(CancellationToken.None);
        }
        catch
        {
            state.State = previous;
            throw;
        }
    }
}

using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using ChatCluster.Grains;
using ChatCluster.Grains.Inference;
using ChatCluster.Inference;
using ChatCluster.Inference.Tools;
using Orleans.Placement;
using Orleans.Storage;

namespace ChatCluster.Conversations;

/// <summary>
/// One conversation (key: its id). Each turn sends the whole history to an inference engine chosen by the
/// router (<see cref="IEngineRouter"/>): the engine that served its last turn and so holds its KV cache, if it
/// can take it. The engine formats the history with the chat template and drops the oldest turns if it does not
/// fit the context window (<see cref="ChatDelta.DroppedMessages"/> tells the caller). The turn is committed (user message and reply
/// together, written to storage) when the reply's final event arrives and before it is passed on, so a reply
/// the caller saw finish is durable; a turn that ends any other way stores nothing.
/// <para>
/// Orleans lets streaming methods interleave with every other call on the grain, so the grain keeps turn order
/// itself: <see cref="_turn"/> is held from the start of a turn (or a create or delete) until it ends, and
/// each turn reads the history the previous one committed. Storage writes carry an ETag: if another
/// activation wrote first (a stale activation after a failover), the write fails, nothing is overwritten, and
/// this activation deactivates so the next call reads the stored truth.
/// </para>
/// </summary>
[PreferLocalPlacement]
public sealed partial class ConversationGrain(
    [PersistentState("conversation", ConversationStorage.Name)] IPersistentState<ConversationState> state,
    InferenceClient inference,
    ConversationLimits limits,
    TimeProvider time,
    ILogger<ConversationGrain> logger) : Grain, IConversationGrain
{
    private readonly SemaphoreSlim _turn = new(1, 1);

    private string Id => this.GetPrimaryKeyString();

    public async Task CreateAsync(string owner, string? systemPrompt, SamplingParameters? defaults)
    {
        ArgumentNullException.ThrowIfNull(owner);
        await _turn.WaitAsync();
        try
        {
            if (state.State.Exists)
            {
                throw new InvalidRequestException($"Conversation '{Id}' already exists.", "id");
            }

            await CommitAsync(new ConversationState
            {
                Exists = true,
                Owner = owner,
                SystemPrompt = string.IsNullOrEmpty(systemPrompt) ? null : systemPrompt,
                Defaults = defaults,
                CreatedUnixSeconds = time.GetUtcNow().ToUnixTimeSeconds(),
            });
        }
        finally
        {
            _turn.Release();
        }
    }

    public Task<ConversationSnapshot> GetAsync(string owner)
    {
        var conversation = OwnedBy(owner);
        return Task.FromResult(new ConversationSnapshot(Id, WithSystemPrompt(conversation, []), conversation.CreatedUnixSeconds));
    }

    public async IAsyncEnumerable<ChatDelta> SendAsync(
        string owner, TurnInput input, TurnKey? key = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var question = input.Messages;
        if (question is [{ Role: ChatMessage.User } user] && string.IsNullOrWhiteSpace(user.Content))
        {
            throw new InvalidRequestException("The message content must not be empty.", "content");
        }

        await _turn.WaitAsync(cancellationToken);
        try
        {
            // Read after the wait: the previous turn's reply is part of this turn's history, and a turn with the same
            // key that ran meanwhile (another node's retry) is committed by now.
            var conversation = OwnedBy(owner);
            if (key is not null && conversation.KeyedTurns.FirstOrDefault(t => t.Key == key.Key) is { } done)
            {
                foreach (var replayed in Replay(conversation, key, done))
                {
                    yield return replayed;
                }

                yield break;
            }

            EnsureUserOrResults(conversation, question);
            EnsureRoomFor(conversation, question);
            var sampling = input.Sampling ?? conversation.Defaults ?? new SamplingParameters();
            var request = new ChatRequest
            {
                Messages = WithSystemPrompt(conversation, [.. question]),
                Tools = input.Tools,
                Sampling = sampling with { Constraint = input.Constraint },
                CacheKey = Id,
                TruncateOldest = true,
            };
            var reply = new StringBuilder();
            var calls = new ToolCallCollector();
            var servedBy = conversation.CacheEngine;
            await foreach (var delta in inference.ChatAsync(request, new RouteHint(CacheEngine: conversation.CacheEngine), route => servedBy = route.Engine, cancellationToken))
            {
                // The conversation keeps the first choice; beam search's other choices only stream through.
                if (delta.Index == 0)
                {
                    reply.Append(delta.Text);
                    calls.Add(delta.ToolCall);

                    if (delta.Finish is FinishReason.Stop or FinishReason.Length or FinishReason.ToolCalls)
                    {
                        var answer = new ChatMessage(ChatMessage.Assistant, reply.ToString()) { ToolCalls = calls.Calls.Count > 0 ? calls.Calls : null };
                        await CommitAsync(conversation with
                        {
                            Messages = [.. conversation.Messages, .. question, answer],
                            CacheEngine = servedBy,
                            KeyedTurns = key is null ? conversation.KeyedTurns : [.. conversation.KeyedTurns.TakeLast(limits.IdempotencyKeys - 1),
                                new KeyedTurn(key.Key, key.RequestDigest, conversation.Messages.Count + question.Count, delta.Finish.Value,
                                    delta.PromptTokens, delta.CompletionTokens, delta.DroppedMessages, delta.CachedTokens)],
                        });
                        TurnCommitted(logger, Id, delta.PromptTokens, delta.CompletionTokens, delta.Finish.Value);
                    }
                }

                yield return delta;
            }
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>
    /// The committed turn of <paramref name="key"/>, if it was asked with the same request: its text as one event,
    /// then each tool call it made whole, then the finish with the usage it reported.
    /// </summary>
    private IEnumerable<ChatDelta> Replay(ConversationState conversation, TurnKey key, KeyedTurn done)
    {
        if (done.RequestDigest != key.RequestDigest)
        {
            throw new IdempotencyConflictException(
                $"Idempotency-Key '{key.Key}' was already used for a different request to conversation '{Id}'; use a new key for a new turn.");
        }

        TurnReplayed(logger, Id);
        var reply = conversation.Messages[done.ReplyIndex];
        var calls = reply.ToolCalls ?? [];
        var finish = new ChatDelta(0, calls.Count == 0 ? reply.Content : "", done.Finish, done.PromptTokens, done.CompletionTokens, done.DroppedMessages, done.CachedTokens);
        if (calls.Count == 0)
        {
            return [finish];
        }

        return [
            finish with { Text = reply.Content, Finish = null },
            .. calls.Select((call, index) => finish with { Finish = null, ToolCall = new ToolCallDelta(index, call.Id, call.Name, call.Arguments) }),
            finish,
        ];
    }

    /// <summary>
    /// A turn brings one user message, or tool results that each answer a different call of the last reply that
    /// no result has answered yet.
    /// </summary>
    private void EnsureUserOrResults(ConversationState conversation, IReadOnlyList<ChatMessage> messages)
    {
        if (messages is [{ Role: ChatMessage.User }])
        {
            return;
        }

        var lastReply = conversation.Messages.LastOrDefault(m => m.Role == ChatMessage.Assistant);
        var answered = conversation.Messages.SkipWhile(m => !ReferenceEquals(m, lastReply)).Select(m => m.ToolCallId).ToHashSet();
        foreach (var message in messages)
        {
            if (message.Role != ChatMessage.Tool || lastReply?.ToolCalls?.Any(c => c.Id == message.ToolCallId) != true || !answered.Add(message.ToolCallId))
            {
                throw new InvalidRequestException(
                    $"tool_call_id '{message.ToolCallId}' does not name an unanswered tool call of conversation '{Id}''s last reply.", "tool_results");
            }
        }
    }

    public async Task DeleteAsync(string owner)
    {
        await _turn.WaitAsync();
        try
        {
            OwnedBy(owner);
            try
            {
                await state.ClearStateAsync();
            }
            catch (Exception e) when (e is not InconsistentStateException)
            {
                throw new StorageUnavailableException($"Conversation '{Id}' could not be deleted: the conversation store did not answer.", e);
            }

            state.State = new ConversationState();
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>The conversation if it exists and belongs to <paramref name="owner"/>; anyone else learns nothing about it.</summary>
    private ConversationState OwnedBy(string owner)
    {
        var conversation = state.State;
        return conversation.Exists && string.Equals(conversation.Owner, owner, StringComparison.Ordinal)
            ? conversation
            : throw new NotFoundException($"Conversation '{Id}' was not found.");
    }

    /// <summary>
    /// Refuses a turn that would take the conversation past its limits. The reply is not known yet: the check
    /// counts the question and one more message, and the reply's bytes are bounded by the model's window.
    /// </summary>
    private void EnsureRoomFor(ConversationState conversation, IReadOnlyList<ChatMessage> question)
    {
        if (conversation.Messages.Count + question.Count + 1 > limits.MaxMessages)
        {
            throw new InvalidRequestException(
                $"Conversation '{Id}' holds {conversation.Messages.Count} messages, the most this server keeps is {limits.MaxMessages}; start a new conversation.",
                "content");
        }

        var bytes = Encoding.UTF8.GetByteCount(conversation.SystemPrompt ?? "") + question.Sum(Bytes) + conversation.Messages.Sum(Bytes);
        if (bytes > limits.MaxBytes)
        {
            throw new InvalidRequestException(
                $"Conversation '{Id}' would hold {bytes} bytes of text, the most this server keeps is {limits.MaxBytes}; start a new conversation.",
                "content");
        }
    }

    private static long Bytes(ChatMessage message) =>
        Encoding.UTF8.GetByteCount(message.Content) + (message.ToolCalls?.Sum(static c => (long)Encoding.UTF8.GetByteCount(c.Arguments) + c.Name.Length + c.Id.Length) ?? 0);

    /// <summary>System prompt (if any), the stored messages, then <paramref name="next"/>.</summary>
    private static ChatMessage[] WithSystemPrompt(ConversationState conversation, params ReadOnlySpan<ChatMessage> next)
    {
        var system = conversation.SystemPrompt is null ? [] : new[] { new ChatMessage(ChatMessage.System, conversation.SystemPrompt) };
        return [.. system, .. conversation.Messages, .. next];
    }

    private async Task ReloadAfterStaleWriteAsync()
    {
        try
        {
            await state.ReadStateAsync();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The store did not answer: the activation still leaves, and its successor reads the store.
        }
    }

    private async Task LeaveSoonAsync()
    {
        await Task.Delay(TimeSpan.FromSeconds(1), time);
        DeactivateOnIdle();
    }

    /// <summary>Writes <paramref name="next"/>; the state in memory changes only if the write succeeds.</summary>
    private async Task CommitAsync(ConversationState next)
    {
        var previous = state.State;
        state.State = next;
        try
        {
            await state.WriteStateAsync();
        }
        catch (InconsistentStateException)
        {
            // Another activation wrote a newer version: this one is stale. Nothing was overwritten; the caller
            // gets a retryable error, this activation reads the stored truth for the next call, and it leaves a
            // moment later. Not at once: a streamed turn's error must reach its reader first, or the reader finds
            // its enumerator gone (EnumerationAbortedException, seen under load in CI) instead of this error.
            state.State = previous;
            await ReloadAfterStaleWriteAsync();
            _ = LeaveSoonAsync();
            throw;
        }
        catch (Exception e)
        {
            state.State = previous;
            throw new StorageUnavailableException($"Conversation '{Id}' could not be stored: the conversation store did not answer ({e.GetBaseException().GetType().Name}).", e);
        }
    }
}

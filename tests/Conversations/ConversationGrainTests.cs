using System.Text.Json;
using System.Text.Json.Nodes;
using ChatCluster.Grains;
using ChatCluster.Inference;
using ChatCluster.Silo.Hosting;
using ChatCluster.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using StackExchange.Redis;

namespace ChatCluster.Tests.Conversations;

/// <summary>
/// ConversationGrain on the real Orleans runtime: a silo in this process with the test model, its
/// conversations stored in a real redis-server, called through the silo's grain factory.
/// </summary>
public sealed class ConversationGrainTests(RedisServerFixture silo) : IClassFixture<RedisServerFixture>
{
    private const string Owner = "key-1";
    private const string SystemPrompt = "You are a helpful assistant.";

    private static readonly SamplingParameters ShortGreedy = SamplingParameters.Greedy with { MaxTokens = 8 };

    private IGrainFactory Factory => silo.Services.GetRequiredService<IGrainFactory>();

    [Fact]
    public async Task A_new_conversation_has_its_system_prompt_and_no_turns()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var (key, conversation) = await CreateAsync();

        var snapshot = await conversation.GetAsync(Owner);

        Assert.Equal(key, snapshot.Id);
        Assert.Equal([new ChatMessage(ChatMessage.System, SystemPrompt)], snapshot.Messages);
        Assert.InRange(snapshot.CreatedUnixSeconds, before, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    }

    [Fact]
    public async Task Another_owner_and_an_unknown_id_are_told_not_found()
    {
        var (_, conversation) = await CreateAsync();
        var unknown = Factory.GetGrain<IConversationGrain>(NewKey());

        await Assert.ThrowsAsync<NotFoundException>(() => conversation.GetAsync("key-2"));
        await Assert.ThrowsAsync<NotFoundException>(() => ReadAllAsync(conversation.SendAsync("key-2", "hello", ShortGreedy)));
        await Assert.ThrowsAsync<NotFoundException>(() => conversation.DeleteAsync("key-2"));
        await Assert.ThrowsAsync<NotFoundException>(() => unknown.GetAsync(Owner));
        Assert.Single((await conversation.GetAsync(Owner)).Messages);
    }

    [Fact]
    public async Task A_completed_turn_stores_the_user_message_and_the_reply_together()
    {
        var (_, conversation) = await CreateAsync();

        var deltas = await ReadAllAsync(conversation.SendAsync(Owner, "Say hello.", ShortGreedy));

        var final = deltas[^1];
        Assert.True(final.Finish is FinishReason.Stop or FinishReason.Length);
        var reply = string.Concat(deltas.Select(delta => delta.Text));
        var snapshot = await conversation.GetAsync(Owner);
        Assert.Equal(
            [new(ChatMessage.System, SystemPrompt), new(ChatMessage.User, "Say hello."), new ChatMessage(ChatMessage.Assistant, reply)],
            snapshot.Messages);
    }

    [Fact]
    public async Task The_turn_is_in_redis_before_the_final_event_reaches_the_caller()
    {
        var (key, conversation) = await CreateAsync();
        using var redis = await silo.Redis.ConnectAsync();
        string? storedAtFinal = null;

        await foreach (var delta in conversation.SendAsync(Owner, "Count to three.", ShortGreedy))
        {
            if (delta.Finish is not null)
            {
                storedAtFinal = await redis.GetDatabase().HashGetAsync(StorageKey(key), "data");
            }
        }

        Assert.NotNull(storedAtFinal);
        Assert.Contains("Count to three.", storedAtFinal);
    }

    [Fact]
    public async Task Stored_state_names_no_dotnet_type_so_a_renamed_type_reads_it()
    {
        var (key, conversation) = await CreateAsync();
        await ReadAllAsync(conversation.SendAsync(Owner, "Remember the lantern.", ShortGreedy));
        using var redis = await silo.Redis.ConnectAsync();

        string stored = (await redis.GetDatabase().HashGetAsync(StorageKey(key), "data"))!;

        Assert.DoesNotContain("ChatCluster", stored);
        Assert.DoesNotContain("$type", stored);
        var renamed = new JsonGrainStateSerializer().Deserialize<RenamedConversation>(BinaryData.FromString(stored))!;
        Assert.True(renamed.Exists);
        Assert.Equal(Owner, renamed.Owner);
        Assert.Equal(SystemPrompt, renamed.SystemPrompt);
        Assert.Equal("Remember the lantern.", renamed.Messages[0].Content);
    }

    [Fact]
    public async Task Turns_sent_at_once_run_one_at_a_time_each_seeing_the_one_before()
    {
        var (_, conversation) = await CreateAsync();

        // Short turns (about 20 tokens each with the template), so that four fit the test model's 128-token window whole.
        var turns = Enumerable.Range(0, 4).Select(i => ReadAllAsync(conversation.SendAsync(Owner, $"Q{i}", SamplingParameters.Greedy with { MaxTokens = 2 })));
        var replies = await Task.WhenAll(turns);

        var messages = (await conversation.GetAsync(Owner)).Messages;
        Assert.Equal(1 + 2 * 4, messages.Count);
        for (var i = 1; i < messages.Count; i += 2)
        {
            Assert.Equal(ChatMessage.User, messages[i].Role);
            Assert.Equal(ChatMessage.Assistant, messages[i + 1].Role);
        }

        // Each reply's prompt held every turn before it: the prompts grow strictly, turn after turn.
        var promptSizes = replies.Select(deltas => deltas[^1].PromptTokens).Order().ToList();
        Assert.Equal(promptSizes.Count, promptSizes.Distinct().Count());
        Assert.All(replies, deltas => Assert.Equal(0, deltas[^1].DroppedMessages));
        Assert.All(Enumerable.Range(0, 4), i => Assert.Contains($"Q{i}", messages.Select(m => m.Content)));
    }

    [Fact]
    public async Task A_stale_activation_never_overwrites_a_newer_turn()
    {
        var (key, conversation) = await CreateAsync();
        await ReadAllAsync(conversation.SendAsync(Owner, "First.", ShortGreedy));

        // Another activation (on a silo this one cannot see) commits a turn: the record and its ETag change in Redis.
        using var redis = await silo.Redis.ConnectAsync();
        var db = redis.GetDatabase();
        var record = JsonNode.Parse((string)(await db.HashGetAsync(StorageKey(key), "data"))!)!;
        record["messages"]!.AsArray().Add(new JsonObject { ["role"] = "user", ["content"] = "Written elsewhere." });
        record["messages"]!.AsArray().Add(new JsonObject { ["role"] = "assistant", ["content"] = "Reply elsewhere." });
        await db.HashSetAsync(StorageKey(key), [new("data", record.ToJsonString()), new("etag", "another-activation")]);

        // This activation's next commit is refused by the ETag; the newer turn stays whole.
        await Assert.ThrowsAnyAsync<InconsistentStateException>(() => ReadAllAsync(conversation.SendAsync(Owner, "Stale.", ShortGreedy)));
        Assert.Contains("Written elsewhere.", (string)(await db.HashGetAsync(StorageKey(key), "data"))!);

        // The stale activation is gone; the next turn reads the stored truth and builds on it.
        await ReadAllAsync(conversation.SendAsync(Owner, "Next.", ShortGreedy));
        var contents = (await conversation.GetAsync(Owner)).Messages.Select(m => m.Content).ToList();
        Assert.Equal(1 + 2 * 3, contents.Count);
        Assert.Equal(["First.", "Written elsewhere.", "Reply elsewhere.", "Next."], contents.Where((_, i) => i is 1 or 3 or 4 or 5));
        Assert.DoesNotContain("Stale.", contents);
    }

    [Fact]
    public async Task A_turn_cut_short_by_the_caller_leaves_the_conversation_as_it_was()
    {
        var (_, conversation) = await CreateAsync();
        await ReadAllAsync(conversation.SendAsync(Owner, "First question.", ShortGreedy));
        var before = await conversation.GetAsync(Owner);

        // Stop reading after the first event of a long reply (disposal cancels the turn).
        await foreach (var delta in conversation.SendAsync(Owner, "Tell me a long story.", SamplingParameters.Greedy with { MaxTokens = 64 }))
        {
            Assert.Null(delta.Finish);
            break;
        }

        // Cancel another one through the token.
        using var cancellation = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var delta in conversation.SendAsync(Owner, "Another long story.", SamplingParameters.Greedy with { MaxTokens = 64 }, cancellationToken: cancellation.Token))
            {
                await cancellation.CancelAsync();
            }
        });

        Assert.Equal(before.Messages, (await conversation.GetAsync(Owner)).Messages);
    }

    [Fact]
    public async Task A_history_longer_than_the_window_drops_the_oldest_turns_keeps_the_system_prompt_and_says_so()
    {
        var engine = silo.Engine;
        var window = engine.Info.ContextWindow;
        var oneWord = engine.CountPromptTokens([new(ChatMessage.User, "apple")]);
        var twoWords = engine.CountPromptTokens([new(ChatMessage.User, "apple apple")]);
        var perWord = Math.Max(1, twoWords - oneWord);
        // Each message takes about 60% of the window: two of them cannot fit together.
        var longMessage = string.Join(' ', Enumerable.Repeat("apple", window * 6 / 10 / perWord));
        var oneToken = SamplingParameters.Greedy with { MaxTokens = 1 };
        var (_, conversation) = await CreateAsync();

        var first = await ReadAllAsync(conversation.SendAsync(Owner, longMessage, oneToken));
        var second = await ReadAllAsync(conversation.SendAsync(Owner, longMessage + " pear", oneToken));

        Assert.Equal(0, first[^1].DroppedMessages);
        Assert.True(second[^1].DroppedMessages >= 2, $"dropped {second[^1].DroppedMessages}");
        Assert.True(second[^1].PromptTokens < window);
        var stored = (await conversation.GetAsync(Owner)).Messages;
        Assert.Equal(5, stored.Count);
        Assert.Equal(ChatMessage.System, stored[0].Role);
    }

    [Fact]
    public async Task A_conversation_survives_deactivation()
    {
        var (_, conversation) = await CreateAsync();
        await ReadAllAsync(conversation.SendAsync(Owner, "Remember me.", ShortGreedy));
        var before = await conversation.GetAsync(Owner);
        var management = Factory.GetGrain<IManagementGrain>(0);
        var activations = await management.GetTotalActivationCount();

        await management.ForceActivationCollection(TimeSpan.Zero);

        Assert.True(await management.GetTotalActivationCount() < activations);
        Assert.Equal(before.Messages, (await conversation.GetAsync(Owner)).Messages);
    }

    [Fact]
    public async Task A_conversation_cannot_grow_past_its_message_and_byte_limits()
    {
        var (_, byCount) = await CreateAsync();
        for (var turn = 0; turn < RedisServerFixture.MaxConversationMessages / 2; turn++)
        {
            await ReadAllAsync(byCount.SendAsync(Owner, $"Q{turn}", SamplingParameters.Greedy with { MaxTokens = 1 }));
        }

        var full = await Assert.ThrowsAsync<InvalidRequestException>(() => ReadAllAsync(byCount.SendAsync(Owner, "One more.", ShortGreedy)));
        Assert.Contains("start a new conversation", full.Message, StringComparison.Ordinal);
        Assert.Equal(1 + RedisServerFixture.MaxConversationMessages, (await byCount.GetAsync(Owner)).Messages.Count);

        // Bytes are counted before the model sees the turn (the test model's window is far smaller than the limit).
        var (_, byBytes) = await CreateAsync();
        var tooLarge = await Assert.ThrowsAsync<InvalidRequestException>(
            () => ReadAllAsync(byBytes.SendAsync(Owner, new string('é', RedisServerFixture.MaxConversationBytes / 2), ShortGreedy)));
        Assert.Contains("bytes of text", tooLarge.Message, StringComparison.Ordinal);
        Assert.Single((await byBytes.GetAsync(Owner)).Messages);
    }

    [Fact]
    public async Task A_deleted_conversation_is_gone()
    {
        var (_, conversation) = await CreateAsync();

        await conversation.DeleteAsync(Owner);

        await Assert.ThrowsAsync<NotFoundException>(() => conversation.GetAsync(Owner));
    }

    [Fact]
    public async Task Empty_content_and_a_second_create_are_refused()
    {
        var (_, conversation) = await CreateAsync();

        var empty = await Assert.ThrowsAsync<InvalidRequestException>(() => ReadAllAsync(conversation.SendAsync(Owner, " ", ShortGreedy)));
        Assert.Equal("content", empty.Param);
        await Assert.ThrowsAsync<InvalidRequestException>(() => conversation.CreateAsync(Owner, null, null));
    }

    /// <summary>The Redis key Orleans' Redis storage keeps a conversation under (service id, grain type, key, state name).</summary>
    private static RedisKey StorageKey(string key) => $"chatcluster/state/conversation/{key}/conversation";

    private static string NewKey() => "conv_test_" + Guid.NewGuid().ToString("N");

    private async Task<(string Key, IConversationGrain Grain)> CreateAsync()
    {
        var key = NewKey();
        var conversation = Factory.GetGrain<IConversationGrain>(key);
        await conversation.CreateAsync(Owner, SystemPrompt, null);
        return (key, conversation);
    }

    private static async Task<List<ChatDelta>> ReadAllAsync(IAsyncEnumerable<ChatDelta> stream)
    {
        var deltas = new List<ChatDelta>();
        await foreach (var delta in stream)
        {
            deltas.Add(delta);
        }

        return deltas;
    }

    /// <summary>The stored schema read by a type of another name and namespace, as after a rename.</summary>
    private sealed record RenamedConversation(bool Exists, string Owner, string? SystemPrompt, IReadOnlyList<ChatMessage> Messages);
}

using System.Text;
using ChatCluster.Conversations;
using ChatCluster.Grains;
using ChatCluster.Inference;
using ChatCluster.Inference.Model;
using ChatCluster.Tests.Infrastructure;
using ChatCluster.Silo.Runtime;
using ChatCluster.Silo.Storage;
using ChatCluster.Tests.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace ChatCluster.Tests.Conversations;

/// <summary>ConversationGrain through the real grain runtime and the real inference grain with the test model.</summary>
public sealed class ConversationGrainTests : IAsyncLifetime
{
    private const string Owner = "key-1";
    private const string SystemPrompt = "You are a helpful assistant.";

    private static readonly SamplingParameters ShortGreedy = SamplingParameters.Greedy with { MaxTokens = 8 };

    private readonly ManualTimeProvider _time = new();
    private readonly ServiceProvider _services;
    private readonly string _modelId;

    public ConversationGrainTests()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddGrainRuntime(options =>
        {
            options.IdleTimeout = RuntimeHarness.IdleTimeout;
            options.CollectionQuantum = RuntimeHarness.CollectionQuantum;
        });
        _modelId = RegisterInference(services);
        services.AddSingleton(new ConversationOptions { ModelId = _modelId });
        services.AddGrain<IConversationGrain, ConversationGrain>();
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    private IGrainFactory Factory => _services.GetRequiredService<IGrainFactory>();

    [Fact]
    public async Task A_new_conversation_has_its_system_prompt_and_no_turns()
    {
        var conversation = await CreateAsync("new");

        var snapshot = await conversation.GetAsync(Owner);

        Assert.Equal("new", snapshot.Id);
        Assert.Equal([new ChatMessage(ChatMessage.System, SystemPrompt)], snapshot.Messages);
        Assert.Equal(_time.GetUtcNow().ToUnixTimeSeconds(), snapshot.CreatedUnixSeconds);
    }

    [Fact]
    public async Task Another_owner_and_an_unknown_id_are_told_not_found()
    {
        var conversation = await CreateAsync("owned");
        var unknown = Factory.GetGrain<IConversationGrain>("never-created");

        await Assert.ThrowsAsync<NotFoundException>(() => conversation.GetAsync("key-2"));
        await Assert.ThrowsAsync<NotFoundException>(() => ReadAllAsync(conversation.SendAsync("key-2", "hello", ShortGreedy)));
        await Assert.ThrowsAsync<NotFoundException>(() => conversation.DeleteAsync("key-2"));
        await Assert.ThrowsAsync<NotFoundException>(() => unknown.GetAsync(Owner));
        Assert.Single((await conversation.GetAsync(Owner)).Messages);
    }

    [Fact]
    public async Task A_completed_turn_stores_the_user_message_and_the_reply_together()
    {
        var conversation = await CreateAsync("turn");

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
    public async Task The_turn_is_written_to_storage_before_the_final_event_reaches_the_caller()
    {
        var conversation = await CreateAsync("durable");
        var storage = _services.GetRequiredService<IGrainStorage>();
        var id = new GrainId(nameof(IConversationGrain), "durable");
        byte[]? storedAtFinal = null;

        await foreach (var delta in conversation.SendAsync(Owner, "Count to three.", ShortGreedy))
        {
            if (delta.Finish is not null)
            {
                storedAtFinal = await storage.ReadAsync(id, CancellationToken.None);
            }
        }

        Assert.NotNull(storedAtFinal);
        Assert.Contains("Count to three.", Encoding.UTF8.GetString(storedAtFinal));
    }

    [Fact]
    public async Task A_turn_cut_short_by_the_caller_leaves_the_conversation_as_it_was()
    {
        var conversation = await CreateAsync("cut");
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
            await foreach (var delta in conversation.SendAsync(Owner, "Another long story.", SamplingParameters.Greedy with { MaxTokens = 64 }, cancellation.Token))
            {
                await cancellation.CancelAsync();
            }
        });

        Assert.Equal(before.Messages, (await conversation.GetAsync(Owner)).Messages);
    }

    [Fact]
    public async Task A_history_longer_than_the_window_drops_the_oldest_turns_keeps_the_system_prompt_and_says_so()
    {
        var inference = Factory.GetGrain<IInferenceGrain>(_modelId);
        var window = (await inference.GetInfoAsync()).ContextWindow;
        var oneWord = await inference.CountPromptTokensAsync([new(ChatMessage.User, "apple")]);
        var twoWords = await inference.CountPromptTokensAsync([new(ChatMessage.User, "apple apple")]);
        var perWord = Math.Max(1, twoWords - oneWord);
        // Each message takes about 60% of the window: two of them cannot fit together.
        var longMessage = string.Join(' ', Enumerable.Repeat("apple", window * 6 / 10 / perWord));
        var oneToken = SamplingParameters.Greedy with { MaxTokens = 1 };
        var conversation = await CreateAsync("long");

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
        var conversation = await CreateAsync("survives");
        await ReadAllAsync(conversation.SendAsync(Owner, "Remember me.", ShortGreedy));
        var before = await conversation.GetAsync(Owner);
        var catalog = _services.GetRequiredService<GrainCatalog>();
        var activation = catalog.FindActivation(new GrainId(nameof(IConversationGrain), "survives"))!;

        _time.Advance(RuntimeHarness.IdleTimeout + RuntimeHarness.CollectionQuantum);
        await activation.Deactivated.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(before.Messages, (await conversation.GetAsync(Owner)).Messages);
    }

    [Fact]
    public async Task A_deleted_conversation_is_gone()
    {
        var conversation = await CreateAsync("deleted");

        await conversation.DeleteAsync(Owner);

        await Assert.ThrowsAsync<NotFoundException>(() => conversation.GetAsync(Owner));
    }

    [Fact]
    public async Task Empty_content_and_a_second_create_are_refused()
    {
        var conversation = await CreateAsync("refusals");

        var empty = await Assert.ThrowsAsync<InvalidRequestException>(() => ReadAllAsync(conversation.SendAsync(Owner, " ", ShortGreedy)));
        Assert.Equal("content", empty.Param);
        await Assert.ThrowsAsync<InvalidRequestException>(() => conversation.CreateAsync(Owner, null, null));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _services.GetRequiredService<GrainCatalog>().StopAsync(CancellationToken.None);
        await _services.DisposeAsync();
    }

    /// <summary>Registers the real InferenceGrain with the test model; returns the model's id (its grain key).</summary>
    private static string RegisterInference(IServiceCollection services)
    {
        services.AddSingleton(_ => InferenceEngine.Load(TestPaths.TinyModel, ExecutionDevice.Cpu));
        services.AddGrain<IInferenceGrain, InferenceGrain>();
        return Path.GetFileName(TestPaths.TinyModel);
    }

    private async Task<IConversationGrain> CreateAsync(string key)
    {
        var conversation = Factory.GetGrain<IConversationGrain>(key);
        await conversation.CreateAsync(Owner, SystemPrompt, null);
        return conversation;
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
}

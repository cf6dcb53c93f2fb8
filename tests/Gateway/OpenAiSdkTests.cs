using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using ChatCluster.Tests.Infrastructure;
using OpenAI.Chat;

#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK; it is part of the API we serve.

namespace ChatCluster.Tests.Gateway;

/// <summary>The official OpenAI .NET SDK against the real server over HTTP: what OpenAI's clients rely on.</summary>
public sealed class OpenAiSdkTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static readonly ChatMessage[] Greeting = [new UserChatMessage("Tell me about the sea.")];

    private static ChatCompletionOptions Greedy(int maxTokens) => new() { Temperature = 0, MaxOutputTokenCount = maxTokens };

    [Fact]
    public async Task A_plain_completion_has_text_a_finish_reason_and_consistent_usage()
    {
        ChatCompletion completion = await server.ChatClient().CompleteChatAsync(Greeting, Greedy(16));

        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.False(string.IsNullOrEmpty(completion.Content[0].Text));
        Assert.Contains(completion.FinishReason, new[] { ChatFinishReason.Stop, ChatFinishReason.Length });
        Assert.InRange(completion.Usage.OutputTokenCount, 1, 16);
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task Max_tokens_ends_a_reply_with_finish_reason_length_at_that_count()
    {
        ChatCompletion completion = await server.ChatClient().CompleteChatAsync(Greeting, Greedy(3));

        if (completion.FinishReason == ChatFinishReason.Length)
        {
            Assert.Equal(3, completion.Usage.OutputTokenCount);
        }
        else
        {
            Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
            Assert.InRange(completion.Usage.OutputTokenCount, 1, 3);
        }
    }

    [Fact]
    public async Task A_streamed_reply_is_the_same_text_as_the_plain_one_and_ends_with_usage()
    {
        var client = server.ChatClient();
        ChatCompletion plain = await client.CompleteChatAsync(Greeting, Greedy(24));

        var text = new StringBuilder();
        var updates = 0;
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in client.CompleteChatStreamingAsync(Greeting, Greedy(24)))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(plain.Content[0].Text, text.ToString());
        Assert.Equal(plain.FinishReason, finish);
        Assert.NotNull(usage);
        Assert.Equal(plain.Usage.OutputTokenCount, usage.OutputTokenCount);
        Assert.Equal(plain.Usage.InputTokenCount, usage.InputTokenCount);
        Assert.True(updates >= 3, $"a streamed reply comes in several events; got {updates}");
    }

    [Fact]
    public async Task A_multi_turn_chat_sends_the_whole_history()
    {
        var client = server.ChatClient();
        ChatCompletion first = await client.CompleteChatAsync(Greeting, Greedy(12));
        ChatMessage[] history =
        [
            new SystemChatMessage("You are a helpful assistant."),
            .. Greeting,
            new AssistantChatMessage(first.Content[0].Text),
            new UserChatMessage("And about the mountains?"),
        ];

        ChatCompletion second = await client.CompleteChatAsync(history, Greedy(12));

        Assert.False(string.IsNullOrEmpty(second.Content[0].Text));
        Assert.True(second.Usage.InputTokenCount > first.Usage.InputTokenCount + first.Usage.OutputTokenCount,
            "the second prompt holds the first exchange and more");
    }

    [Fact]
    public async Task A_stop_string_ends_the_reply_before_it_and_is_not_returned()
    {
        var client = server.ChatClient();
        ChatCompletion reference = await client.CompleteChatAsync(Greeting, Greedy(40));
        var text = reference.Content[0].Text;
        Assert.True(text.Length >= 8, $"the reference reply is too short to pick a stop string from: '{text}'");

        // A stop string from the middle of the greedy reply: the same greedy run must end right before it.
        var stop = text.Substring(text.Length / 2, 3);
        var options = Greedy(40);
        options.StopSequences.Add(stop);
        ChatCompletion stopped = await client.CompleteChatAsync(Greeting, options);

        Assert.Equal(text[..text.IndexOf(stop, StringComparison.Ordinal)], stopped.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_text_when_sampling()
    {
        var client = server.ChatClient();
        var options = new ChatCompletionOptions { Temperature = 1.0f, MaxOutputTokenCount = 24, Seed = 1234 };

        ChatCompletion first = await client.CompleteChatAsync(Greeting, options);
        ChatCompletion second = await client.CompleteChatAsync(Greeting, options);

        Assert.Equal(first.Content[0].Text, second.Content[0].Text);
    }

    [Fact]
    public async Task Different_seeds_sample_different_texts()
    {
        var client = server.ChatClient();
        var texts = new HashSet<string>();
        for (var seed = 1; seed <= 4; seed++)
        {
            var options = new ChatCompletionOptions { Temperature = 1.0f, MaxOutputTokenCount = 24, Seed = seed };
            ChatCompletion completion = await client.CompleteChatAsync(Greeting, options);
            texts.Add(completion.Content[0].Text);
        }

        Assert.True(texts.Count > 1, "four seeds gave one text: the seed does not reach sampling");
    }

    [Fact]
    public async Task N_choices_come_back_with_indexes_0_to_n_minus_1_and_usage_adds_them_up()
    {
        var body = $$"""{"model":"{{server.ModelId}}","messages":[{"role":"user","content":"Hi"}],"n":3,"max_tokens":8,"temperature":1,"seed":7}""";

        using var response = await server.Client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var choices = json.RootElement.GetProperty("choices").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2], choices.Select(c => c.GetProperty("index").GetInt32()));
        Assert.All(choices, c => Assert.Equal("assistant", c.GetProperty("message").GetProperty("role").GetString()));
        var usage = json.RootElement.GetProperty("usage");
        Assert.InRange(usage.GetProperty("completion_tokens").GetInt32(), 3, 24);
    }

    [Fact]
    public async Task A_streamed_n_request_tags_every_chunk_with_its_choice_and_ends_with_done()
    {
        var body = $$$"""{"model":"{{{server.ModelId}}}","messages":[{"role":"user","content":"Hi"}],"n":2,"max_tokens":6,"stream":true,"stream_options":{"include_usage":true}}""";
        using var response = await server.Client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement).ToList();
        Assert.Empty(chunks[^1].GetProperty("choices").EnumerateArray());
        Assert.True(chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32() > 0);
        foreach (var index in new[] { 0, 1 })
        {
            var mine = chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray()).Where(c => c.GetProperty("index").GetInt32() == index).ToList();
            Assert.Equal("assistant", mine[0].GetProperty("delta").GetProperty("role").GetString());
            Assert.All(mine[..^1], c => Assert.Equal(JsonValueKind.Null, c.GetProperty("finish_reason").ValueKind));
            Assert.Equal("{}", mine[^1].GetProperty("delta").GetRawText());
            Assert.Contains(mine[^1].GetProperty("finish_reason").GetString(), new[] { "stop", "length" });
        }
    }

    [Fact]
    public async Task An_unknown_model_is_a_404_the_sdk_reports()
    {
        var client = new ChatClient("no-such-model", new ApiKeyCredential("x"), new OpenAI.OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "/v1") });

        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync(Greeting));

        Assert.Equal(404, error.Status);
        Assert.Contains("no-such-model", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_out_of_range_temperature_is_a_400_the_sdk_reports()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            server.ChatClient().CompleteChatAsync(Greeting, new ChatCompletionOptions { Temperature = 5 }));

        Assert.Equal(400, error.Status);
        Assert.Contains("temperature", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_streamed_request_fails_before_the_stream_starts()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(async () =>
        {
            await foreach (var _ in server.ChatClient().CompleteChatStreamingAsync(Greeting, new ChatCompletionOptions { TopP = 0 }))
            {
            }
        });

        Assert.Equal(400, error.Status);
        Assert.Contains("top_p", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Models_lists_the_served_model()
    {
        var models = new OpenAI.Models.OpenAIModelClient(new ApiKeyCredential("x"), new OpenAI.OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "/v1") });

        var list = (await models.GetModelsAsync()).Value;

        Assert.Equal(server.ModelId, Assert.Single(list).Id);
    }
}

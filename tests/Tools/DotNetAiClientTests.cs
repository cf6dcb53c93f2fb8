using System.ClientModel;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text;
using System.Text.Json;
using ChatCluster.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.Connectors.OpenAI;
using OpenAI.Chat;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;
using AiChatRole = Microsoft.Extensions.AI.ChatRole;
using OpenAiFinishReason = OpenAI.Chat.ChatFinishReason;
using FunctionCallContent = Microsoft.Extensions.AI.FunctionCallContent;
using FunctionResultContent = Microsoft.Extensions.AI.FunctionResultContent;

#pragma warning disable OPENAI001, SKEXP0001 // Seed (OpenAI SDK) and function choice behaviours (Semantic Kernel) are marked experimental.

namespace ChatCluster.Tests.Tools;

/// <summary>
/// The .NET AI clients a C# user reaches for, against the real server over HTTP, sending what they send by
/// default: Microsoft.Extensions.AI's structured output and function invocation, Semantic Kernel's auto function
/// calling, and the official OpenAI SDK's streamed tool-call deltas. The bundled model is tiny: its calls are
/// well formed only because the decoder keeps it to the request's tools and schemas.
/// </summary>
public sealed class DotNetAiClientTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    // long, not int: M.E.AI moves numeric bounds into the description for OpenAI's strict mode, so the schema's
    // integer is unbounded, and the decoder writes up to 15 digits (exact as a double) where the model likes.
    public sealed record Forecast(string City, long TemperatureC, bool Sunny, string[] Notes);

    public enum City { Oslo, Rio }

    private IChatClient AiClient() => server.ChatClient().AsIChatClient();

    private static ChatCompletionOptions BanTokens(IEnumerable<int> tokens, int maxTokens)
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = maxTokens };
        foreach (var token in tokens)
        {
            options.LogitBiases[token] = -100;
        }

        return options;
    }

    [Fact]
    public async Task Extensions_ai_get_response_of_a_record_type_comes_back_as_that_record()
    {
        for (var seed = 1; seed <= 5; seed++)
        {
            var response = await AiClient().GetResponseAsync<Forecast>(
                "What is the weather in Oslo?", new ChatOptions { Temperature = 1, Seed = seed, MaxOutputTokens = 120 });

            // Valid JSON of the record's schema, so the client's own deserializer takes it.
            Assert.True(response.TryGetResult(out var forecast), $"seed {seed}: {response.Text}");
            Assert.NotNull(forecast.City);
            Assert.NotNull(forecast.Notes);
        }
    }

    [Fact]
    public async Task Extensions_ai_function_invocation_runs_two_parallel_calls_and_answers()
    {
        var invoked = new List<string>();
        var weather = AIFunctionFactory.Create(
            (City city) => { lock (invoked) { invoked.Add(city.ToString()); } return 4; },
            "weather");
        var client = AiClient().AsBuilder().UseFunctionInvocation().Build();
        Assert.Contains("\"enum\"", weather.JsonSchema.GetRawText());

        // The grammar allows one call or more; left to itself the tiny model ends after one. The first request of
        // each exchange bans its end tokens (logit_bias, through M.E.AI's raw options), so that the grammar's only
        // way on is a second call. A call costs ~50 tokens of the tiny vocabulary, so the first request may take 110 (two calls, not three)
        // and the answer to the results 12; the answer's prompt (tools, question, two calls, two results) is then
        // ~253 of the model's 256 tokens, which is why the names, the cities and the results are so short.
        var endTokens = server.Engine.EndTokenIds;
        for (var seed = 1; seed <= 10; seed++)
        {
            invoked.Clear();
            var round = 0;
            var response = await client.GetResponseAsync(
                [new AiChatMessage(AiChatRole.User, "Oslo, Rio?")],
                new ChatOptions
                {
                    Tools = [weather], ToolMode = ChatToolMode.RequireAny, AllowMultipleToolCalls = true, Temperature = 1, Seed = seed,
                    RawRepresentationFactory = _ => Interlocked.Increment(ref round) == 1 ? BanTokens(endTokens, maxTokens: 110) : new ChatCompletionOptions { MaxOutputTokenCount = 12 },
                });

            var calls = response.Messages[0].Contents.OfType<FunctionCallContent>().ToList();
            Assert.NotEmpty(calls);
            Assert.All(calls, c => Assert.Equal("weather", c.Name));
            if (calls.Count < 2)
            {
                continue;
            }

            var results = response.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().ToList();
            Assert.Equal(calls.Select(c => c.CallId).Order(), results.Take(calls.Count).Select(r => r.CallId).Order());
            Assert.Equal(calls.Select(c => c.Arguments!["city"]?.ToString()), invoked.Take(calls.Count));
            Assert.Equal(AiChatRole.Assistant, response.Messages[^1].Role);
            return;
        }

        Assert.Fail("no first reply in 10 seeds held two calls");
    }

    [Fact]
    public async Task Extensions_ai_without_multiple_calls_gets_exactly_one_call()
    {
        var weather = AIFunctionFactory.Create((City city) => "4 °C", "get_weather");
        for (var seed = 1; seed <= 8; seed++)
        {
            var response = await AiClient().GetResponseAsync(
                [new AiChatMessage(AiChatRole.User, "Weather in Oslo and in Lima?")],
                new ChatOptions { Tools = [weather], ToolMode = ChatToolMode.RequireAny, AllowMultipleToolCalls = false, Temperature = 1, Seed = seed, MaxOutputTokens = 100 });

            Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
            Assert.Equal("tool_calls", response.FinishReason?.Value);
        }
    }

    [Fact]
    public async Task Extensions_ai_streaming_gives_the_call_as_one_function_call()
    {
        var weather = AIFunctionFactory.Create((string city) => "4 °C", "get_weather");
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in AiClient().GetStreamingResponseAsync(
            [new AiChatMessage(AiChatRole.User, "Weather in Oslo?")],
            new ChatOptions { Tools = [weather], ToolMode = ChatToolMode.RequireSpecific("get_weather"), Temperature = 1, Seed = 3, MaxOutputTokens = 100 }))
        {
            updates.Add(update);
        }

        var response = updates.ToChatResponse();
        var call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_weather", call.Name);
        Assert.True(call.Arguments!.ContainsKey("city"));
        Assert.Equal("tool_calls", response.FinishReason?.Value);
    }

    [Fact]
    public async Task Semantic_kernel_calls_its_plugin_function_and_answers()
    {
        var cities = new List<string?>();
        var kernel = Kernel.CreateBuilder()
            .AddOpenAIChatCompletion(server.ModelId, endpoint: new Uri(server.BaseAddress, "/v1"), apiKey: "no-key-needed")
            .Build();
        kernel.Plugins.AddFromFunctions("weather", [KernelFunctionFactory.CreateFromMethod((City city) => { cities.Add(city.ToString()); return "4"; }, "get_weather")]);
        Assert.Contains("enum", kernel.Plugins["weather"]["get_weather"].Metadata.Parameters[0].Schema!.ToString());

        var settings = new OpenAIPromptExecutionSettings
        {
            FunctionChoiceBehavior = FunctionChoiceBehavior.Required(),
            Temperature = 1,
            Seed = 5,
            MaxTokens = 60,
        };
        var result = await kernel.InvokePromptAsync("Weather in Oslo?", new KernelArguments(settings));

        // The plugin ran with the arguments the model wrote, under the name Semantic Kernel gave it (weather-get_weather).
        Assert.NotEmpty(cities);
        Assert.All(cities, c => Assert.NotNull(c));
        Assert.NotNull(result.GetValue<string>());
    }

    [Fact]
    public async Task Openai_sdk_streams_each_call_with_id_and_name_once_then_argument_fragments()
    {
        var options = new ChatCompletionOptions
        {
            Tools =
            {
                ChatTool.CreateFunctionTool("get_weather", "Weather now", BinaryData.FromString("""{"type": "object", "properties": {"city": {"type": "string", "maxLength": 12}, "days": {"type": "integer", "minimum": 1, "maximum": 7}}, "required": ["city", "days"], "additionalProperties": false}""")),
                ChatTool.CreateFunctionTool("get_time"),
            },
            ToolChoice = ChatToolChoice.CreateRequiredChoice(),
            Temperature = 1,
            Seed = 11,
            MaxOutputTokenCount = 120,
        };

        var heads = new Dictionary<int, (string Id, string Name)>();
        var arguments = new Dictionary<int, StringBuilder>();
        OpenAiFinishReason? finish = null;
        await foreach (var update in server.ChatClient().CompleteChatStreamingAsync([new UserChatMessage("Weather in Oslo for 3 days, and the time?")], options))
        {
            foreach (var call in update.ToolCallUpdates)
            {
                if (call.ToolCallId is not null)
                {
                    Assert.False(heads.ContainsKey(call.Index), "a call's id and name come once");
                    heads[call.Index] = (call.ToolCallId, call.FunctionName);
                    arguments[call.Index] = new StringBuilder();
                }

                Assert.True(heads.ContainsKey(call.Index), "argument fragments follow their call's head");
                arguments[call.Index].Append(call.FunctionArgumentsUpdate?.ToString());
            }

            finish ??= update.FinishReason;
        }

        Assert.Equal(OpenAiFinishReason.ToolCalls, finish);
        Assert.NotEmpty(heads);
        Assert.Equal(heads.Count, heads.Values.Select(h => h.Id).Distinct().Count());
        foreach (var (index, (_, name)) in heads)
        {
            using var parsed = JsonDocument.Parse(arguments[index].ToString());
            if (name == "get_time")
            {
                // A tool without parameters streams "{}".
                Assert.Equal("{}", arguments[index].ToString());
                continue;
            }

            Assert.Equal("get_weather", name);
            Assert.InRange(parsed.RootElement.GetProperty("city").GetString()!.Length, 0, 12);
            Assert.InRange(parsed.RootElement.GetProperty("days").GetInt32(), 1, 7);
        }
    }
}

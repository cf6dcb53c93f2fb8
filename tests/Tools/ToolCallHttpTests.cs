using System.Net;
using System.Text;
using System.Text.Json;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Tools;

/// <summary>Tool calls through plain HTTP where no SDK goes: beam search, several choices, tool_choice none.</summary>
public sealed class ToolCallHttpTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string Tools = """
        "tools":[{"type":"function","function":{"name":"weather","parameters":{"type":"object","properties":{"city":{"enum":["Oslo","Rio"]}},"required":["city"]}}},
                 {"type":"function","function":{"name":"time"}}]
        """;

    [Theory]
    [InlineData("\"beam_width\":3,\"temperature\":0")]
    [InlineData("\"n\":3,\"temperature\":1,\"seed\":4")]
    public async Task Every_choice_is_a_call_of_a_given_tool(string sampling)
    {
        using var reply = await CompleteAsync($$"""{"model":"MODEL","messages":[{"role":"user","content":"Oslo?"}],{{Tools}},"tool_choice":"required","max_tokens":100,{{sampling}}}""");

        foreach (var choice in reply.RootElement.GetProperty("choices").EnumerateArray())
        {
            Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
            Assert.Equal(JsonValueKind.Null, choice.GetProperty("message").GetProperty("content").ValueKind);
            foreach (var call in choice.GetProperty("message").GetProperty("tool_calls").EnumerateArray())
            {
                var function = call.GetProperty("function");
                using var arguments = JsonDocument.Parse(function.GetProperty("arguments").GetString()!);
                switch (function.GetProperty("name").GetString())
                {
                    case "weather":
                        Assert.Contains(arguments.RootElement.GetProperty("city").GetString(), new[] { "Oslo", "Rio" });
                        break;
                    case "time":
                        Assert.Equal("{}", function.GetProperty("arguments").GetString());
                        break;
                    default:
                        Assert.Fail($"a call of a tool not given: {call}");
                        break;
                }
            }
        }
    }

    [Fact]
    public async Task Tool_choice_none_shows_the_tools_and_calls_nothing()
    {
        using var reply = await CompleteAsync($$"""{"model":"MODEL","messages":[{"role":"user","content":"Oslo?"}],{{Tools}},"tool_choice":"none","max_tokens":12,"temperature":0}""");

        var choice = reply.RootElement.GetProperty("choices")[0];
        Assert.False(choice.GetProperty("message").TryGetProperty("tool_calls", out _));
        Assert.NotEqual("tool_calls", choice.GetProperty("finish_reason").GetString());
        Assert.True(reply.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() > 30, "the tools are in the prompt");
    }

    private async Task<JsonDocument> CompleteAsync(string body)
    {
        using var response = await server.Client.PostAsync("/v1/chat/completions",
            new StringContent(body.Replace("MODEL", server.ModelId, StringComparison.Ordinal), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text);
    }
}

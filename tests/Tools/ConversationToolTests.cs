using System.Net;
using System.Text;
using System.Text.Json;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Tools;

/// <summary>
/// Tools in the stateful conversation API: a turn may offer tools, the reply's calls are stored with it, the next
/// turn answers them with tool_results, and a replayed turn gives the same calls back.
/// </summary>
public sealed class ConversationToolTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string Tools = """
        "tools":[{"type":"function","function":{"name":"weather","parameters":{"type":"object","properties":{"city":{"enum":["Oslo","Rio"]}},"required":["city"]}}}]
        """;

    [Fact]
    public async Task A_turn_that_calls_a_tool_is_stored_with_its_call_and_the_result_answers_it()
    {
        var id = await CreateAsync();

        using var call = await PostAsync($"/v1/conversations/{id}/messages", $$"""{"content":"Oslo?",{{Tools}},"tool_choice":"required","parallel_tool_calls":false,"max_tokens":80,"seed":1}""");
        Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        using var reply = JsonDocument.Parse(await call.Content.ReadAsStringAsync());
        Assert.Equal("tool_calls", reply.RootElement.GetProperty("finish_reason").GetString());
        var made = Assert.Single(reply.RootElement.GetProperty("tool_calls").EnumerateArray());
        var callId = made.GetProperty("id").GetString()!;
        Assert.Equal("weather", made.GetProperty("function").GetProperty("name").GetString());
        using var arguments = JsonDocument.Parse(made.GetProperty("function").GetProperty("arguments").GetString()!);
        Assert.Contains(arguments.RootElement.GetProperty("city").GetString(), new[] { "Oslo", "Rio" });

        using var unknown = await PostAsync($"/v1/conversations/{id}/messages", """{"tool_results":[{"tool_call_id":"call_nope","content":"4"}],"max_tokens":4}""");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("call_nope", await unknown.Content.ReadAsStringAsync());

        using var answered = await PostAsync($"/v1/conversations/{id}/messages", $$"""{"tool_results":[{"tool_call_id":"{{callId}}","content":"4 degrees"}],"max_tokens":6}""");
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        using var again = await PostAsync($"/v1/conversations/{id}/messages", $$"""{"tool_results":[{"tool_call_id":"{{callId}}","content":"4 degrees"}],"max_tokens":6}""");
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);

        using var conversation = JsonDocument.Parse(await server.Client.GetStringAsync($"/v1/conversations/{id}"));
        var messages = conversation.RootElement.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["user", "assistant", "tool", "assistant"], messages.Select(m => m.GetProperty("role").GetString()));
        Assert.Equal(callId, messages[1].GetProperty("tool_calls")[0].GetProperty("id").GetString());
        Assert.Equal(made.GetProperty("function").GetProperty("arguments").GetString(), messages[1].GetProperty("tool_calls")[0].GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal(callId, messages[2].GetProperty("tool_call_id").GetString());
        Assert.Equal("4 degrees", messages[2].GetProperty("content").GetString());
    }

    [Fact]
    public async Task A_replayed_tool_call_turn_streams_the_same_call()
    {
        var id = await CreateAsync();
        var body = $$"""{"content":"Rio?",{{Tools}},"tool_choice":{"type":"function","function":{"name":"weather"} },"max_tokens":80,"seed":2,"stream":true}""";

        var first = await StreamedCallsAsync(id, body, "turn-1");
        var replayed = await StreamedCallsAsync(id, body, "turn-1");

        Assert.NotEmpty(first);
        Assert.Equal(first, replayed);
        using var conversation = JsonDocument.Parse(await server.Client.GetStringAsync($"/v1/conversations/{id}"));
        Assert.Equal(2, conversation.RootElement.GetProperty("messages").GetArrayLength());
    }

    /// <summary>The streamed calls put together: (id, name, arguments) in order.</summary>
    private async Task<List<(string Id, string Name, string Arguments)>> StreamedCallsAsync(string id, string body, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/conversations/{id}/messages") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("Idempotency-Key", key);
        using var response = await server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var calls = new List<(string Id, string Name, string Arguments)>();
        foreach (var line in (await response.Content.ReadAsStringAsync()).Split('\n').Where(l => l.StartsWith("data: {", StringComparison.Ordinal)))
        {
            using var payload = JsonDocument.Parse(line["data: ".Length..]);
            if (!payload.RootElement.TryGetProperty("tool_calls", out var pieces))
            {
                continue;
            }

            var piece = pieces[0];
            var index = piece.GetProperty("index").GetInt32();
            var function = piece.GetProperty("function");
            if (piece.TryGetProperty("id", out var callId))
            {
                calls.Add((callId.GetString()!, function.GetProperty("name").GetString()!, ""));
            }

            calls[index] = calls[index] with { Arguments = calls[index].Arguments + function.GetProperty("arguments").GetString() };
        }

        return calls;
    }

    private async Task<string> CreateAsync()
    {
        using var response = await PostAsync("/v1/conversations", "{}");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("id").GetString()!;
    }

    private Task<HttpResponseMessage> PostAsync(string path, string body) =>
        server.Client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
}

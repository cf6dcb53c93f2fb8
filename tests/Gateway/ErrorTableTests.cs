using System.Net;
using System.Text;
using System.Text.Json;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Gateway;

/// <summary>
/// Every malformed or out-of-range request against the real server: a 4xx with OpenAI's error body naming
/// the problem, never a 5xx, a hang or a crash; the server still answers afterwards.
/// </summary>
public sealed class ErrorTableTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string User = """[{"role":"user","content":"hi"}]""";

    /// <summary>Path, body (MODEL stands for the served model id), expected status, error.param, message fragment.</summary>
    public static TheoryData<string, string, int, string?, string> Cases() => new()
    {
        { "/v1/chat/completions", "{\"model\":", 400, null, "not valid JSON" },
        { "/v1/chat/completions", "[]", 400, null, "must be a JSON object" },
        { "/v1/chat/completions", $$$"""{"model":"MODEL","messages":{{{User}}},"temperature":"warm"}""", 400, "temperature", "expected a number" },
        { "/v1/chat/completions", """{"model":"MODEL","messages":[{"role":"wizard","content":"x"}]}""", 400, "messages[0].role", "unknown role 'wizard'" },
        { "/v1/chat/completions", """{"model":"MODEL","messages":[{"role":"user","content":null}]}""", 400, "messages[0].content", "expected a string" },
        { "/v1/chat/completions", $$$"""{"model":"MODEL","messages":{{{User}}},"temperature":2.1}""", 400, "temperature", "between 0 and 2" },
        { "/v1/chat/completions", $$$"""{"model":"MODEL","messages":{{{User}}},"top_p":0}""", 400, "top_p", "greater than 0" },
        { "/v1/chat/completions", $$$"""{"model":"MODEL","messages":{{{User}}},"top_k":-3}""", 400, "top_k", "at least 0" },
        { "/v1/chat/completions", $$$"""{"model":"MODEL","messages":{{{User}}},"repetition_penalty":0}""", 400, "repetition_penalty", "greater than 0" },
        { "/v1/chat/completions", $$$"""{"model":"MODEL","messages":{{{User}}},"max_tokens":0}""", 400, "max_tokens", "at least 1" },
        { "/v1/chat/completions", $$$"""{"model":"MODEL","messages":{{{User}}},"n":100}""", 400, "n", "between 1 and" },
        { "/v1/chat/completions", $$$"""{"model":"MODEL","messages":{{{User}}},"beam_width":100}""", 400, "beam_width", "between 1 and" },
        { "/v1/chat/completions", $$$"""{"model":"MODEL","messages":{{{User}}},"stop":[1]}""", 400, "stop[0]", "expected a string" },
        { "/v1/chat/completions", $$$"""{"model":"MODEL","messages":{{{User}}},"tools":[{"type":"function","function":{"name":"no spaces"} }]}""", 400, "tools[0].function.name", "not a valid name" },
        { "/v1/chat/completions", $$$"""{"model":"MODEL","messages":[{"role":"user","content":"a"},{"role":"tool","tool_call_id":"call_1","content":"b"}]}""", 400, "messages[1].tool_call_id", "no earlier assistant message has a tool call with id 'call_1'" },
        { "/v1/chat/completions", $$$"""{"model":"MODEL","messages":{{{User}}},"response_format":{"type":"json_schema"}}""", 400, "response_format.json_schema", "required" },
        { "/v1/chat/completions", $$$"""{"model":"MODEL","messages":{{{User}}},"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","if":{} } } } }""", 400, "response_format.json_schema.schema", "keyword 'if'" },
        { "/v1/conversations/CONV/messages", """{"tool_results":[{"tool_call_id":"call_1","content":"b"}]}""", 400, "tool_results", "does not name an unanswered tool call" },
        { "/v1/chat/completions", $$$"""{"model":"MODEL","messages":{{{User}}},"logprobs":true}""", 400, "logprobs", "not supported" },
        { "/v1/chat/completions", $$$"""{"model":"MODEL","messages":{{{User}}},"stream":true,"temperature":9}""", 400, "temperature", "between 0 and 2" },
        { "/v1/chat/completions", $$$"""{"model":"gpt-4o","messages":{{{User}}}}""", 404, "model", "does not exist" },
        { "/v1/chat/completions", """{"model":"MODEL","messages":[{"role":"user","content":"LONG"}]}""", 400, "messages", "context window" },
        { "/v1/conversations", """{"system":5}""", 400, "system", "expected a string" },
        { "/v1/conversations/conv_000000000000000000000000/messages", """{"content":"hi"}""", 404, null, "" },
        { "/v1/conversations/conv_000000000000000000000000/messages", """{"content":"hi","temperature":-1}""", 400, "temperature", "between 0 and 2" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Each_bad_request_gets_its_4xx_and_a_message_naming_the_problem(string path, string body, int status, string? param, string fragment)
    {
        body = body.Replace("MODEL", server.ModelId, StringComparison.Ordinal)
            .Replace("LONG", string.Join(' ', Enumerable.Repeat("lorem ipsum dolor", 20_000)), StringComparison.Ordinal);
        if (path.Contains("CONV", StringComparison.Ordinal))
        {
            // A conversation that exists, so that the turn's own check is what answers.
            using var created = await server.Client.PostAsync("/v1/conversations", new StringContent("{}", Encoding.UTF8, "application/json"));
            using var conversation = System.Text.Json.JsonDocument.Parse(await created.Content.ReadAsStringAsync());
            path = path.Replace("CONV", conversation.RootElement.GetProperty("id").GetString(), StringComparison.Ordinal);
        }

        using var response = await server.Client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

        await AssertErrorAsync(response, status, param, fragment);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task The_prompt_too_long_error_carries_openais_code()
    {
        var body = $$"""{"model":"{{server.ModelId}}","messages":[{"role":"user","content":"{{string.Join(' ', Enumerable.Repeat("lorem ipsum dolor", 20_000))}}"}]}""";

        using var response = await server.Client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        var error = await AssertErrorAsync(response, 400, "messages", "context window");
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task An_oversized_body_gets_413()
    {
        var body = $$"""{"model":"{{server.ModelId}}","messages":[{"role":"user","content":"{{new string('a', 8 * 1024 * 1024)}}"}]}""";

        using var response = await server.Client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        await AssertErrorAsync(response, 413, null, "larger than");
    }

    [Fact]
    public async Task Invalid_utf8_gets_400()
    {
        var bytes = Encoding.UTF8.GetBytes($$"""{"model":"{{server.ModelId}}","messages":[{"role":"user","content":"a""")
            .Concat(new byte[] { 0xED, 0xA0, 0x80 }).Concat(Encoding.UTF8.GetBytes("\"}]}")).ToArray();
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        using var response = await server.Client.PostAsync("/v1/chat/completions", content);

        await AssertErrorAsync(response, 400, null, "not valid UTF-8");
    }

    [Fact]
    public async Task An_unknown_conversation_is_a_404_on_get()
    {
        using var response = await server.Client.GetAsync("/v1/conversations/conv_ffffffffffffffffffffffff");

        await AssertErrorAsync(response, 404, null, "");
    }

    private async Task AssertStillServingAsync()
    {
        using var health = await server.Client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    private static async Task<JsonElement> AssertErrorAsync(HttpResponseMessage response, int status, string? param, string fragment)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"expected {status}, got {(int)response.StatusCode}: {text}");
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error").Clone();
        var message = error.GetProperty("message").GetString()!;
        Assert.Contains(fragment, message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(message));
        Assert.False(string.IsNullOrEmpty(error.GetProperty("type").GetString()));
        Assert.Equal(param, error.GetProperty("param").ValueKind == JsonValueKind.Null ? null : error.GetProperty("param").GetString());
        return error;
    }
}

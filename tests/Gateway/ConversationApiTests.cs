using System.Net;
using System.Text;
using System.Text.Json;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Gateway;

/// <summary>The conversation API over HTTP: the server keeps the history; replies plain or streamed.</summary>
public sealed class ConversationApiTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task A_conversation_keeps_its_turns_in_order()
    {
        var id = await CreateAsync("""{"system":"You are brief."}""");

        using var first = await PostAsync($"/v1/conversations/{id}/messages", """{"content":"Hello","max_tokens":8,"temperature":0}""");
        using var firstReply = JsonDocument.Parse(await first.Content.ReadAsStringAsync());
        using var second = await PostAsync($"/v1/conversations/{id}/messages", """{"content":"And then?","max_tokens":8,"temperature":0}""");
        using var conversation = JsonDocument.Parse(await server.Client.GetStringAsync($"/v1/conversations/{id}"));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("assistant", firstReply.RootElement.GetProperty("role").GetString());
        Assert.Contains(firstReply.RootElement.GetProperty("finish_reason").GetString(), new[] { "stop", "length" });
        Assert.True(firstReply.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32() > 0);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var messages = conversation.RootElement.GetProperty("messages").EnumerateArray()
            .Select(m => (m.GetProperty("role").GetString(), m.GetProperty("content").GetString())).ToList();
        Assert.Equal(5, messages.Count);
        Assert.Equal(("system", "You are brief."), messages[0]);
        Assert.Equal(("user", "Hello"), messages[1]);
        Assert.Equal(("assistant", firstReply.RootElement.GetProperty("content").GetString()), messages[2]);
        Assert.Equal(("user", "And then?"), messages[3]);
        Assert.Equal("assistant", messages[4].Item1);
    }

    [Fact]
    public async Task A_streamed_turn_sends_deltas_then_the_finish_then_done_and_is_stored_whole()
    {
        var id = await CreateAsync("{}");

        using var response = await PostAsync($"/v1/conversations/{id}/messages", """{"content":"Hello","stream":true,"max_tokens":12}""");
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        using var conversation = JsonDocument.Parse(await server.Client.GetStringAsync($"/v1/conversations/{id}"));

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("data: [DONE]", events[^1]);
        var payloads = events[..^1].Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement).ToList();
        var streamed = string.Concat(payloads.Where(p => p.TryGetProperty("delta", out _)).Select(p => p.GetProperty("delta").GetString()));
        Assert.True(payloads[^1].TryGetProperty("finish_reason", out _));
        Assert.True(payloads[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32() > 0);
        Assert.Equal(streamed, conversation.RootElement.GetProperty("messages")[1].GetProperty("content").GetString());
    }

    [Fact]
    public async Task A_deleted_conversation_is_gone()
    {
        var id = await CreateAsync("{}");

        using var deleted = await server.Client.DeleteAsync($"/v1/conversations/{id}");
        using var afterwards = await server.Client.GetAsync($"/v1/conversations/{id}");

        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, afterwards.StatusCode);
    }

    [Fact]
    public async Task An_unknown_conversation_is_a_404_for_every_verb()
    {
        using var get = await server.Client.GetAsync("/v1/conversations/conv_000000000000000000000000");
        using var post = await PostAsync("/v1/conversations/conv_000000000000000000000000/messages", """{"content":"hi"}""");
        using var delete = await server.Client.DeleteAsync("/v1/conversations/conv_000000000000000000000000");

        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, post.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, delete.StatusCode);
    }

    private async Task<string> CreateAsync(string body)
    {
        using var response = await PostAsync("/v1/conversations", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("id").GetString()!;
    }

    private Task<HttpResponseMessage> PostAsync(string path, string body) =>
        server.Client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
}

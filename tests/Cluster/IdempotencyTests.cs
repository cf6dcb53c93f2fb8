using System.Net;
using System.Text;
using System.Text.Json;
using ChatCluster.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ChatCluster.Tests.Cluster;

/// <summary>
/// A turn sent again with its Idempotency-Key runs once, with real processes on one redis-server: sent twice
/// through two nodes at once, and sent again through a survivor after the node that ran it was killed.
/// </summary>
public sealed class IdempotencyTests(ITestOutputHelper output) : RedisPerTest
{
    [Fact]
    public async Task The_same_turn_through_two_nodes_at_once_runs_once_and_both_callers_get_its_reply()
    {
        await using var first = await StartAsync();
        await using var second = await StartAsync();
        var id = await first.Client.CreateConversationAsync();

        var replies = await Task.WhenAll(
            SendAsync(first.Client, id, "turn-1", "Define lantern."),
            SendAsync(second.Client, id, "turn-1", "Define lantern."));

        Assert.All(replies, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Equal(replies[0].Content, replies[1].Content);
        Assert.Equal(replies[0].Usage, replies[1].Usage);
        Assert.Equal(["Define lantern."], (await first.Client.MessagesAsync(id)).Where(m => m.Role == "user").Select(m => m.Content));

        // The same key with another request is refused, and runs nothing.
        var reused = await SendAsync(second.Client, id, "turn-1", "Define harbor.");
        Assert.Equal(HttpStatusCode.Conflict, reused.Status);
        Assert.Contains("idempotency_key_reused", reused.Body, StringComparison.Ordinal);
        Assert.Equal(2, (await first.Client.MessagesAsync(id)).Count(m => m.Role != "system"));
    }

    [Fact]
    public async Task A_turn_sent_again_after_its_node_was_killed_is_stored_once_with_the_same_reply()
    {
        await using var survivor = await StartAsync();
        var victim = await StartAsync();
        await using (victim)
        {
            var id = await victim.Client.CreateConversationAsync();
            var original = await SendAsync(victim.Client, id, "turn-1", "Define lantern.");
            Assert.Equal(HttpStatusCode.OK, original.Status);
            victim.Kill();

            // The client never saw the answer (say its connection dropped) and retries through another node.
            var retried = await SendAsync(survivor.Client, id, "turn-1", "Define lantern.");
            output.WriteLine($"original: {original.Content} / retried: {retried.Content}");
            Assert.Equal(HttpStatusCode.OK, retried.Status);
            Assert.Equal(original.Content, retried.Content);
            Assert.Equal(original.Usage, retried.Usage);
            Assert.Equal(["Define lantern."], (await survivor.Client.MessagesAsync(id)).Where(m => m.Role == "user").Select(m => m.Content));
        }
    }

    [Fact]
    public async Task A_streamed_turn_sent_again_streams_its_committed_reply_and_a_key_is_only_for_its_own_request()
    {
        await using var node = await StartAsync();
        var id = await node.Client.CreateConversationAsync();
        const string Streamed = """{"content":"Define lantern.","stream":true,"max_tokens":12}""";

        var original = await StreamAsync(node.Client, id, "k", Streamed);
        var replayed = await StreamAsync(node.Client, id, "k", Streamed);

        // The replay is the committed reply, whole, in one delta event, with the same finish event and usage.
        Assert.True(original.Deltas >= 1);
        Assert.Equal(1, replayed.Deltas);
        Assert.Equal(original.Text, replayed.Text);
        Assert.Equal(original.Final, replayed.Final);
        Assert.Single(await node.Client.MessagesAsync(id), m => m.Role == "user");

        // Another body under the same key (here the same message, not streamed) is another request: 409, nothing runs.
        var other = await SendAsync(node.Client, id, "k", "Define lantern.");
        Assert.Equal(HttpStatusCode.Conflict, other.Status);
        Assert.Single(await node.Client.MessagesAsync(id), m => m.Role == "user");

        using var bad = new HttpRequestMessage(HttpMethod.Post, $"/v1/conversations/{id}/messages")
        {
            Content = new StringContent("""{"content":"x"}""", Encoding.UTF8, "application/json"),
            Headers = { { "Idempotency-Key", new string('k', 300) } },
        };
        using var refused = await node.Client.SendAsync(bad);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }

    /// <summary>A streamed turn: its delta events' count and text, and its final event.</summary>
    private static async Task<(int Deltas, string Text, string Final)> StreamAsync(HttpClient node, string id, string key, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/conversations/{id}/messages")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
            Headers = { { "Idempotency-Key", key } },
        };
        using var response = await node.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = (await response.Content.ReadAsStringAsync()).Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => l[6..]).ToList();
        var deltas = events.Where(e => e.StartsWith("{\"delta\"", StringComparison.Ordinal)).Select(e => JsonDocument.Parse(e).RootElement.GetProperty("delta").GetString()).ToList();
        return (deltas.Count, string.Concat(deltas), events.Single(e => e.Contains("\"finish_reason\"", StringComparison.Ordinal)));
    }

    private Task<SiloProcess> StartAsync() => SiloProcess.StartAsync("--model", TestPaths.TinyModel, "--redis", Redis.Endpoint);

    private static async Task<(HttpStatusCode Status, string Body, string? Content, string? Usage)> SendAsync(HttpClient node, string id, string key, string content)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/conversations/{id}/messages")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { content, max_tokens = 12 }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", key);
        using var response = await node.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            return (response.StatusCode, body, null, null);
        }

        var json = JsonDocument.Parse(body).RootElement;
        return (response.StatusCode, body, json.GetProperty("content").GetString(), json.GetProperty("usage").GetRawText());
    }
}

using System.Net.Http.Json;
using System.Text.Json;

namespace ChatCluster.Tests.Infrastructure;

/// <summary>The conversation API as the cluster tests call it, through any node's HTTP client.</summary>
public static class ConversationCalls
{
    public static async Task<string> CreateConversationAsync(this HttpClient node, string system = "Be brief.")
    {
        using var created = await node.PostAsJsonAsync("/v1/conversations", new { system });
        Assert.True(created.IsSuccessStatusCode, $"create: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    /// <summary>One turn, not streamed; fails the test unless it was acknowledged.</summary>
    public static async Task SendTurnAsync(this HttpClient node, string id, string content, int maxTokens = 3)
    {
        using var reply = await node.PostAsJsonAsync($"/v1/conversations/{id}/messages", new { content, max_tokens = maxTokens });
        Assert.True(reply.IsSuccessStatusCode, $"turn: {(int)reply.StatusCode} {await reply.Content.ReadAsStringAsync()}");
    }

    /// <summary>The stored messages, system prompt first.</summary>
    public static async Task<List<(string Role, string Content)>> MessagesAsync(this HttpClient node, string id)
    {
        using var response = await node.GetAsync($"/v1/conversations/{id}");
        Assert.True(response.IsSuccessStatusCode, $"GET {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        return [.. json.GetProperty("messages").EnumerateArray().Select(m => (m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!))];
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Security;

/// <summary>
/// Isolation between API keys holds through every node of a cluster: a conversation created with one key on
/// one silo is invisible to another key on any silo (404, as if it did not exist), and visible to its owner everywhere.
/// </summary>
public sealed class KeyIsolationAcrossNodesTests : IAsyncLifetime
{
    private const string Owner = "sk-isolation-owner-0001";
    private const string Stranger = "sk-isolation-stranger-0002";

    private readonly TwoSiloCluster _cluster = new(
        static redis => ["--model", TestPaths.TinyModel, "--redis", redis, "--api-key", Owner, "--api-key", Stranger], startupKey: Owner);

    private ServerFixture First => _cluster.First;

    private ServerFixture Second => _cluster.Second;

    public Task InitializeAsync() => _cluster.InitializeAsync();

    public Task DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task Another_key_gets_404_for_a_conversation_on_every_node_and_its_owner_gets_it_on_every_node()
    {
        using var created = await SendAsync(First, Owner, HttpMethod.Post, "/v1/conversations", new { system = "Private." });
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        using var turn = await SendAsync(First, Owner, HttpMethod.Post, $"/v1/conversations/{id}/messages", new { content = "My secret.", max_tokens = 2 });
        turn.EnsureSuccessStatusCode();

        foreach (var node in new[] { First, Second })
        {
            using var read = await SendAsync(node, Stranger, HttpMethod.Get, $"/v1/conversations/{id}");
            using var write = await SendAsync(node, Stranger, HttpMethod.Post, $"/v1/conversations/{id}/messages", new { content = "Let me in.", max_tokens = 2 });
            using var delete = await SendAsync(node, Stranger, HttpMethod.Delete, $"/v1/conversations/{id}");
            Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, write.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, delete.StatusCode);
            Assert.DoesNotContain("My secret.", await read.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            using var owned = await SendAsync(node, Owner, HttpMethod.Get, $"/v1/conversations/{id}");
            Assert.Equal(HttpStatusCode.OK, owned.StatusCode);
            Assert.Contains("My secret.", await owned.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The stranger's attempts changed nothing.
        using var after = await SendAsync(Second, Owner, HttpMethod.Get, $"/v1/conversations/{id}");
        Assert.Equal(3, (await after.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("messages").GetArrayLength());
    }

    private static Task<HttpResponseMessage> SendAsync(ServerFixture node, string key, HttpMethod method, string path, object? body = null) =>
        node.Client.SendAsync(Request(key, method, path, body));

    private static HttpRequestMessage Request(string key, HttpMethod method, string path, object? body = null) => new(method, path)
    {
        Headers = { Authorization = new AuthenticationHeaderValue("Bearer", key) },
        Content = body is null ? null : JsonContent.Create(body),
    };
}

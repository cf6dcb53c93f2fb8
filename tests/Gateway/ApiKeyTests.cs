using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using OpenAI.Chat;

namespace ChatCluster.Tests.Gateway;

/// <summary>API keys on the real server: 401 without a valid key, conversations private to their key, per-key limits.</summary>
public sealed class ApiKeyTests(KeyedServerFixture server) : IClassFixture<KeyedServerFixture>
{
    private static readonly ChatMessage[] Hello = [new UserChatMessage("Hello")];

    [Fact]
    public async Task No_key_gets_401()
    {
        using var response = await server.Client.PostAsync("/v1/chat/completions",
            new StringContent($$"""{"model":"{{server.ModelId}}","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("API key", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/metrics")]
    [InlineData("/dashboard/")]
    public async Task The_metrics_and_the_dashboard_need_a_key_when_keys_are_set(string path)
    {
        using var anonymous = await server.Client.GetAsync(path);
        using var keyed = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", KeyedServerFixture.Beta) } };
        using var allowed = await server.Client.SendAsync(keyed);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.DoesNotContain("chatcluster_inference", await anonymous.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_key_gets_401_through_the_sdk()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => server.ChatClient("sk-not-a-key").CompleteChatAsync(Hello));

        Assert.Equal(401, error.Status);
    }

    [Fact]
    public async Task A_right_key_is_served()
    {
        ChatCompletion completion = await server.ChatClient(KeyedServerFixture.Alpha).CompleteChatAsync(
            Hello, new ChatCompletionOptions { MaxOutputTokenCount = 4, Temperature = 0 });

        Assert.True(completion.Usage.OutputTokenCount > 0);
    }

    [Fact]
    public async Task Health_and_the_page_need_no_key()
    {
        using var health = await server.Client.GetAsync("/healthz");
        using var page = await server.Client.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
    }

    [Fact]
    public async Task A_conversation_is_invisible_to_every_other_key()
    {
        using var created = await SendAsync(HttpMethod.Post, "/v1/conversations", KeyedServerFixture.Alpha, "{}");
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();

        using var betaGet = await SendAsync(HttpMethod.Get, $"/v1/conversations/{id}", KeyedServerFixture.Beta);
        using var betaPost = await SendAsync(HttpMethod.Post, $"/v1/conversations/{id}/messages", KeyedServerFixture.Beta, """{"content":"hi","max_tokens":2}""");
        using var betaDelete = await SendAsync(HttpMethod.Delete, $"/v1/conversations/{id}", KeyedServerFixture.Beta);
        using var alphaGet = await SendAsync(HttpMethod.Get, $"/v1/conversations/{id}", KeyedServerFixture.Alpha);

        Assert.Equal(HttpStatusCode.NotFound, betaGet.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, betaPost.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, betaDelete.StatusCode);
        Assert.Equal(HttpStatusCode.OK, alphaGet.StatusCode);
        Assert.Empty(JsonDocument.Parse(await alphaGet.Content.ReadAsStringAsync()).RootElement.GetProperty("messages").EnumerateArray());
    }

    [Fact]
    public async Task Past_its_rate_limit_a_key_gets_429_with_retry_after_and_other_keys_do_not()
    {
        HttpResponseMessage? refused = null;
        for (var i = 0; i <= KeyedServerFixture.RequestsPerMinute && refused is null; i++)
        {
            var response = await SendAsync(HttpMethod.Get, "/v1/models", KeyedServerFixture.Limited);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused = response;
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                response.Dispose();
            }
        }

        using var other = await SendAsync(HttpMethod.Get, "/v1/models", KeyedServerFixture.Beta);

        Assert.NotNull(refused);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "429 without a Retry-After of at least a second");
        Assert.Contains("rate_limit_exceeded", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        refused.Dispose();
    }

    [Fact]
    public async Task A_key_at_its_stream_cap_gets_429_until_its_stream_ends()
    {
        // The end tokens are banned, so the first stream runs for the whole context window.
        var body = $$"""{"model":"{{server.ModelId}}","messages":[{"role":"user","content":"Tell a long story."}],"stream":true,"max_tokens":400,"logit_bias":{{server.BanEndTokens}}}""";
        using var first = await StartStreamAsync(KeyedServerFixture.Beta, body);
        using var firstEvents = new StreamReader(await first.Content.ReadAsStreamAsync());
        Assert.StartsWith("data: ", await firstEvents.ReadLineAsync());

        using var second = await SendAsync(HttpMethod.Post, "/v1/chat/completions", KeyedServerFixture.Beta, body);
        using var otherKey = await SendAsync(HttpMethod.Post, "/v1/chat/completions", KeyedServerFixture.Alpha,
            $$"""{"model":"{{server.ModelId}}","messages":[{"role":"user","content":"hi"}],"max_tokens":2}""");

        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.True(second.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, otherKey.StatusCode);

        first.Dispose();
        var served = false;
        for (var attempt = 0; attempt < 50 && !served; attempt++)
        {
            await Task.Delay(100);
            using var retry = await SendAsync(HttpMethod.Post, "/v1/chat/completions", KeyedServerFixture.Beta,
                $$"""{"model":"{{server.ModelId}}","messages":[{"role":"user","content":"hi"}],"max_tokens":2}""");
            served = retry.StatusCode == HttpStatusCode.OK;
        }

        Assert.True(served, "the stream slot was not given back after the client went away");
    }

    private async Task<HttpResponseMessage> StartStreamAsync(string key, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var response = await server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response;
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string key, string? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return server.Client.SendAsync(request);
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ChatCluster.Gateway;

namespace ChatCluster.Tests.Gateway;

/// <summary>The gateway over real HTTP: keys, limits, CORS, body checks and the page, up to the first grain call.</summary>
public sealed class GatewayHttpTests
{
    private const string Key = "sk-test-alpha";
    private const string ValidBody = """{"model":"tiny","messages":[{"role":"user","content":"hi"}]}""";

    private static GatewayOptions KeyedOptions => new() { ModelId = "tiny", ApiKeys = [Key, "sk-test-beta"] };

    [Theory]
    [InlineData(null, "didn't provide an API key")]
    [InlineData("Bearer sk-wrong", "Incorrect API key")]
    [InlineData("Basic c2stdGVzdC1hbHBoYQ==", "Bearer scheme")]
    public async Task A_missing_or_wrong_key_gets_401_with_an_openai_error(string? authorization, string fragment)
    {
        await using var host = await GatewayTestHost.StartAsync(KeyedOptions);
        var request = Post("/v1/chat/completions", ValidBody, authorization);

        using var response = await host.Client.SendAsync(request);

        var error = await ErrorOf(response, HttpStatusCode.Unauthorized);
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        Assert.Contains(fragment, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Conversation_routes_need_a_key_too()
    {
        await using var host = await GatewayTestHost.StartAsync(KeyedOptions);

        using var response = await host.Client.GetAsync("/v1/conversations/conv_abc");

        await ErrorOf(response, HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("{\"model\":", 400, "not valid JSON")]
    [InlineData("""{"model":"tiny","messages":[{"role":"wizard","content":"x"}]}""", 400, "unknown role 'wizard'")]
    [InlineData("""{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]}""", 404, "'gpt-4o' does not exist")]
    [InlineData("""{"model":"tiny","messages":[{"role":"user","content":"x"}],"temperature":7}""", 400, "temperature: must be between 0 and 2")]
    public async Task A_valid_key_reaches_request_validation(string body, int status, string fragment)
    {
        await using var host = await GatewayTestHost.StartAsync(KeyedOptions);

        using var response = await host.Client.SendAsync(Post("/v1/chat/completions", body, $"Bearer {Key}"));

        var error = await ErrorOf(response, (HttpStatusCode)status);
        Assert.Contains(fragment, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_utf8_gets_400()
    {
        await using var host = await GatewayTestHost.StartAsync(KeyedOptions);
        var bytes = Encoding.UTF8.GetBytes("""{"model":"tiny","messages":[{"role":"user","content":"x""").Concat(new byte[] { 0xFF, 0x22, 0x7D, 0x5D, 0x7D }).ToArray();
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);

        using var response = await host.Client.SendAsync(request);

        var error = await ErrorOf(response, HttpStatusCode.BadRequest);
        Assert.Contains("not valid UTF-8", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_oversized_body_gets_413_whether_or_not_its_length_is_declared(bool declareLength)
    {
        await using var host = await GatewayTestHost.StartAsync(KeyedOptions with { MaxRequestBodyBytes = 1024 });
        var body = $$"""{"model":"tiny","messages":[{"role":"user","content":"{{new string('a', 4096)}}"}]}""";
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = declareLength ? new StringContent(body, Encoding.UTF8, "application/json") : new ChunkedContent(Encoding.UTF8.GetBytes(body)),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);

        using var response = await host.Client.SendAsync(request);

        var error = await ErrorOf(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("1024 bytes", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Past_the_rate_limit_a_key_gets_429_with_retry_after_while_another_key_is_served()
    {
        await using var host = await GatewayTestHost.StartAsync(KeyedOptions with { RequestsPerMinute = 2 });
        for (var i = 0; i < 2; i++)
        {
            using var allowed = await host.Client.SendAsync(Post("/v1/chat/completions", "{", $"Bearer {Key}"));
            Assert.Equal(HttpStatusCode.BadRequest, allowed.StatusCode);
        }

        using var limited = await host.Client.SendAsync(Post("/v1/chat/completions", "{", $"Bearer {Key}"));
        using var otherKey = await host.Client.SendAsync(Post("/v1/chat/completions", "{", "Bearer sk-test-beta"));

        var error = await ErrorOf(limited, HttpStatusCode.TooManyRequests);
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        var retryAfter = Assert.Single(limited.Headers.GetValues("Retry-After"));
        Assert.InRange(int.Parse(retryAfter, System.Globalization.CultureInfo.InvariantCulture), 1, 30);
        Assert.Equal(HttpStatusCode.BadRequest, otherKey.StatusCode);
    }

    [Theory]
    [InlineData("https://chat.example", true)]
    [InlineData("https://evil.example", false)]
    public async Task A_cors_preflight_needs_no_key_and_is_allowed_only_for_configured_origins(string origin, bool allowed)
    {
        await using var host = await GatewayTestHost.StartAsync(KeyedOptions with { AllowedOrigins = ["https://chat.example"] });
        var preflight = new HttpRequestMessage(HttpMethod.Options, "/v1/chat/completions");
        preflight.Headers.Add("Origin", origin);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");

        using var response = await host.Client.SendAsync(preflight);

        Assert.True(response.IsSuccessStatusCode, $"preflight answered {(int)response.StatusCode}");
        Assert.Equal(allowed, response.Headers.TryGetValues("Access-Control-Allow-Origin", out var origins) && origins.Single() == origin);
    }

    [Fact]
    public async Task Unknown_api_paths_and_impossible_conversation_ids_get_404_error_bodies()
    {
        await using var host = await GatewayTestHost.StartAsync(KeyedOptions);

        using var unknownPath = await host.Client.SendAsync(Get("/v1/engines", $"Bearer {Key}"));
        using var badId = await host.Client.SendAsync(Get("/v1/conversations/conv%20..%2Fx", $"Bearer {Key}"));
        using var wrongModel = await host.Client.SendAsync(Get("/v1/models/gpt-4", $"Bearer {Key}"));

        Assert.Contains("Unknown endpoint", (await ErrorOf(unknownPath, HttpStatusCode.NotFound)).GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("No conversation", (await ErrorOf(badId, HttpStatusCode.NotFound)).GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("model_not_found", (await ErrorOf(wrongModel, HttpStatusCode.NotFound)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task With_no_keys_the_server_is_open_and_says_so_in_its_log()
    {
        await using var host = await GatewayTestHost.StartAsync(new GatewayOptions { ModelId = "tiny" });

        using var response = await host.Client.SendAsync(Post("/v1/chat/completions", """{"model":"tiny","messages":[]}""", authorization: null));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(host.Log, line => line.Contains("open to every caller", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_open_server_applies_no_rate_limit()
    {
        await using var host = await GatewayTestHost.StartAsync(new GatewayOptions { ModelId = "tiny", RequestsPerMinute = 1 });

        for (var i = 0; i < 3; i++)
        {
            using var response = await host.Client.SendAsync(Post("/v1/chat/completions", "{", authorization: null));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }
    }

    [Fact]
    public async Task With_keys_the_log_says_how_many_and_never_the_keys()
    {
        await using var host = await GatewayTestHost.StartAsync(KeyedOptions);

        Assert.Contains(host.Log, line => line.Contains("2 keys accepted", StringComparison.Ordinal));
        Assert.DoesNotContain(host.Log, line => line.Contains(Key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_chat_page_and_its_assets_are_served_without_a_key()
    {
        await using var host = await GatewayTestHost.StartAsync(KeyedOptions);

        using var page = await host.Client.GetAsync("/");
        using var script = await host.Client.GetAsync("/app.js");
        using var style = await host.Client.GetAsync("/app.css");
        var html = await page.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains("<label for=\"message\"", html, StringComparison.Ordinal);
        Assert.Contains(">Send</button>", html, StringComparison.Ordinal);
        Assert.Contains("role=\"alert\"", html, StringComparison.Ordinal);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType!.MediaType);
        Assert.Contains("/v1/conversations", await script.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("text/css", style.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task The_page_revalidates_with_its_etag()
    {
        await using var host = await GatewayTestHost.StartAsync(KeyedOptions);
        using var first = await host.Client.GetAsync("/");
        var revalidate = new HttpRequestMessage(HttpMethod.Get, "/");
        revalidate.Headers.IfNoneMatch.Add(first.Headers.ETag!);

        using var second = await host.Client.SendAsync(revalidate);

        Assert.Equal(HttpStatusCode.NotModified, second.StatusCode);
    }

    private static HttpRequestMessage Post(string path, string body, string? authorization)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        return request;
    }

    private static HttpRequestMessage Get(string path, string authorization)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        return request;
    }

    /// <summary>Asserts the status and OpenAI's error body shape; returns the inner error object.</summary>
    private static async Task<JsonElement> ErrorOf(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error").Clone();
        Assert.Equal(JsonValueKind.String, error.GetProperty("message").ValueKind);
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        Assert.True(error.TryGetProperty("param", out _));
        Assert.True(error.TryGetProperty("code", out _));
        return error;
    }

    /// <summary>A body sent with chunked transfer encoding, so the server cannot know its length in advance.</summary>
    private sealed class ChunkedContent(byte[] bytes) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => stream.WriteAsync(bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

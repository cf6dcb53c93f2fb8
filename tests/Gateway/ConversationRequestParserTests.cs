using System.Text;
using ChatCluster.Gateway;
using ChatCluster.Gateway.Conversations;
using ChatCluster.Gateway.Errors;
using ChatCluster.Gateway.Http;

namespace ChatCluster.Tests.Gateway;

public sealed class ConversationRequestParserTests
{
    private static readonly GatewayOptions Options = new() { ModelId = "tiny" };

    [Fact]
    public void An_empty_create_body_makes_a_conversation_without_system_prompt_or_defaults()
    {
        var request = ConversationRequestParser.ParseCreate(null, Options);

        Assert.Null(request.SystemPrompt);
        Assert.Null(request.Defaults);
    }

    [Fact]
    public void Create_reads_the_system_prompt_and_sampling_defaults()
    {
        using var body = Json("""{"system":"You are terse.","temperature":0,"max_tokens":64}""");

        var request = ConversationRequestParser.ParseCreate(body, Options);

        Assert.Equal("You are terse.", request.SystemPrompt);
        Assert.Equal(0f, request.Defaults!.Temperature);
        Assert.Equal(64, request.Defaults.MaxTokens);
    }

    [Fact]
    public void A_message_without_sampling_fields_leaves_the_conversation_defaults_in_force()
    {
        using var body = Json("""{"content":"hello","stream":true}""");

        var request = ConversationRequestParser.ParseMessage(body, Options);

        Assert.Equal([new ChatCluster.Inference.ChatMessage("user", "hello")], request.Messages);
        Assert.True(request.Stream);
        Assert.Null(request.Sampling);
    }

    [Fact]
    public void A_message_with_sampling_fields_carries_them()
    {
        using var body = Json("""{"content":"hello","seed":3,"stop":"\n"}""");

        var request = ConversationRequestParser.ParseMessage(body, Options);

        Assert.Equal(3, request.Sampling!.Seed);
        Assert.Equal(["\n"], request.Sampling.Stop);
    }

    [Theory]
    [InlineData("""{"stream":true}""", "content", "required")]
    [InlineData("""{"content":7}""", "content", "expected a string, got a number")]
    [InlineData("""{"content":"x","temperature":9}""", "temperature", "between 0 and 2")]
    [InlineData("""{"content":"x","role":"user"}""", "role", "unrecognized request argument")]
    public void Bad_message_fields_are_named(string json, string param, string fragment)
    {
        using var body = Json(json);

        var error = Assert.Throws<ApiException>(() => ConversationRequestParser.ParseMessage(body, Options)).Error;

        Assert.Equal(400, error.Status);
        Assert.Equal(param, error.Param);
        Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_system_prompt_must_be_a_string()
    {
        using var body = Json("""{"system":["x"]}""");

        var error = Assert.Throws<ApiException>(() => ConversationRequestParser.ParseCreate(body, Options)).Error;

        Assert.Equal("system", error.Param);
        Assert.Contains("expected a string, got an array", error.Message, StringComparison.Ordinal);
    }

    private static System.Text.Json.JsonDocument Json(string text) => RequestBodyReader.Parse(Encoding.UTF8.GetBytes(text));
}

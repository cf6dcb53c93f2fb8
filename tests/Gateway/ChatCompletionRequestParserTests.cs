using System.Text;
using ChatCluster.Gateway;
using ChatCluster.Gateway.Errors;
using ChatCluster.Gateway.Http;
using ChatCluster.Gateway.OpenAi;
using ChatCluster.Inference;

namespace ChatCluster.Tests.Gateway;

public sealed class ChatCompletionRequestParserTests
{
    private static readonly GatewayOptions Options = new() { ModelId = "tiny" };

    private const string Hello = """[{"role":"user","content":"hi"}]""";

    /// <summary>Each malformed or out-of-range body: the status, the param named, and a fragment of the message.</summary>
    public static TheoryData<string, int, string?, string> Malformed() => new()
    {
        { "", 400, null, "empty" },
        { "[1,2]", 400, null, "must be a JSON object" },
        { """{"model":"tiny","messages":""" , 400, null, "not valid JSON" },
        { """{"model":"tiny","model":"tiny","messages":[{"role":"user","content":"hi"}]}""", 400, null, "not valid JSON" },
        { """{"messages":[{"role":"user","content":"hi"}]}""", 400, "model", "required" },
        { """{"model":"tiny"}""", 400, "messages", "required" },
        { """{"model":42,"messages":[{"role":"user","content":"hi"}]}""", 400, "model", "expected a string, got a number" },
        { """{"model":"gpt-4","messages":[{"role":"user","content":"hi"}]}""", 404, "model", "'gpt-4' does not exist" },
        { """{"model":"tiny","messages":[]}""", 400, "messages", "at least one message" },
        { """{"model":"tiny","messages":{"role":"user"}}""", 400, "messages", "expected an array" },
        { """{"model":"tiny","messages":[""" + string.Join(',', Enumerable.Repeat("""{"role":"user","content":"hi"}""", 1001)) + "]}", 400, "messages", "at most 1000 messages" },
        { """{"model":"tiny","messages":["hi"]}""", 400, "messages[0]", "expected an object" },
        { """{"model":"tiny","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"wizard","content":"c"}]}""", 400, "messages[2].role", "unknown role 'wizard'; expected system, developer, user, assistant or tool" },
        { """{"model":"tiny","messages":[{"role":"tool","content":"x"}]}""", 400, "messages[0].tool_call_id", "required in a tool message" },
        { """{"model":"tiny","messages":[{"role":"user","content":"a"},{"role":"tool","tool_call_id":"call_9","content":"x"}]}""", 400, "messages[1].tool_call_id", "no earlier assistant message has a tool call with id 'call_9'" },
        { """{"model":"tiny","messages":[{"role":"user","content":"a","tool_calls":[]}]}""", 400, "messages[0].tool_calls", "only assistant messages carry tool calls" },
        { """{"model":"tiny","messages":[{"content":"x"}]}""", 400, "messages[0].role", "required" },
        { """{"model":"tiny","messages":[{"role":"user"}]}""", 400, "messages[0].content", "required" },
        { """{"model":"tiny","messages":[{"role":"user","content":5}]}""", 400, "messages[0].content", "expected a string or an array of text parts" },
        { """{"model":"tiny","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}""", 400, "messages[0].content[0].type", "'image_url' are not supported" },
        { """{"model":"tiny","messages":[{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]}""", 400, "messages[0].tool_calls[0].id", "required" },
        { """{"model":"tiny","messages":[{"role":"user","content":"x","mood":"happy"}]}""", 400, "messages[0].mood", "unrecognized field" },
        { """{"model":"tiny","messages":[{"role":"user","content":"\ud800"}]}""", 400, "messages[0].content", "unpaired surrogate" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"temperature":2.5}""", 400, "temperature", "between 0 and 2" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"temperature":-0.1}""", 400, "temperature", "between 0 and 2" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"temperature":1e400}""", 400, "temperature", "between 0 and 2" },
        { """{"model":"tiny","messages":[{"role":"user","content":"x","\udc00":1}]}""", 400, null, "unpaired surrogate" },
                { $$$"""{"model":"tiny","messages":{{{Hello}}},"temperature":"hot"}""", 400, "temperature", "expected a number, got a string" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"top_p":0}""", 400, "top_p", "greater than 0 and at most 1" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"top_p":1.5}""", 400, "top_p", "greater than 0 and at most 1" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"top_k":-1}""", 400, "top_k", "at least 0" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"top_k":2.5}""", 400, "top_k", "expected an integer" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"repetition_penalty":0}""", 400, "repetition_penalty", "greater than 0 and at most 2" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"repetition_penalty":3}""", 400, "repetition_penalty", "greater than 0 and at most 2" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"max_tokens":0}""", 400, "max_tokens", "at least 1" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"max_completion_tokens":-5}""", 400, "max_completion_tokens", "at least 1" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"max_tokens":10,"max_completion_tokens":20}""", 400, "max_completion_tokens", "disagree" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"max_tokens":1e40}""", 400, "max_tokens", "expected an integer" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"seed":"abc"}""", 400, "seed", "expected an integer" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"seed":1.5}""", 400, "seed", "expected an integer" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"n":0}""", 400, "n", "between 1 and 8" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"n":9}""", 400, "n", "between 1 and 8" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"n":2,"beam_width":2}""", 400, "n", "cannot be combined with beam_width" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"beam_width":0}""", 400, "beam_width", "between 1 and 8" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"stop":5}""", 400, "stop", "a string or an array of strings" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"stop":["a","b","c","d","e"]}""", 400, "stop", "at most 4" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"stop":["a",""]}""", 400, "stop[1]", "must not be empty" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"stop":[1]}""", 400, "stop[0]", "expected a string" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"stream":"yes"}""", 400, "stream", "expected a boolean" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"stream_options":{"include_usage":true}}""", 400, "stream_options", "only allowed when stream is true" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"stream":true,"stream_options":{"include_usage":1}}""", 400, "stream_options.include_usage", "expected a boolean" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"stream":true,"stream_options":{"extra":true}}""", 400, "stream_options.extra", "unrecognized field" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"tools":[{"type":"function","function":{"name":"get weather"}}]}""", 400, "tools[0].function.name", "'get weather' is not a valid name" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"f"}}]}""", 400, "tools[1].function.name", "used by another tool" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"tools":[{"type":"custom","custom":{"name":"f"}}]}""", 400, "tools[0].type", "'custom' are not supported" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"not":{} } } } } }]}""", 400, "tools[0].function.parameters", "keyword 'not' at '/properties/a" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"} } }""", 400, "tool_choice.function.name", "no tool named 'g'" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"tool_choice":"required"}""", 400, "tool_choice", "only allowed when tools are specified" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"sometimes"}""", 400, "tool_choice", "unknown value 'sometimes'" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","oneOf":[{}]} } } }""", 400, "response_format.json_schema.schema", "keyword 'oneOf'" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":5} } } }""", 400, "response_format.json_schema.schema", "invalid JSON Schema" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"response_format":{"type":"json_schema","json_schema":{"schema":{"type":"object"} } } }""", 400, "response_format.json_schema.name", "required" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"response_format":{"type":"yaml"}}""", 400, "response_format.type", "unknown type 'yaml'" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"logprobs":true}""", 400, "logprobs", "not supported" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"presence_penalty":0.5}""", 400, "presence_penalty", "not supported" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"logit_bias":{"end":-100}}""", 400, "logit_bias", "token ids" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"logit_bias":{"5":-101}}""", 400, "logit_bias.5", "between" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"logit_bias":[1]}""", 400, "logit_bias", "object" },
        { $$$"""{"model":"tiny","messages":{{{Hello}}},"wizardry":1}""", 400, "wizardry", "unrecognized request argument 'wizardry'" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_bodies_get_a_4xx_naming_the_problem(string body, int status, string? param, string fragment)
    {
        var error = Assert.Throws<ApiException>(() => Parse(body)).Error;

        Assert.Equal(status, error.Status);
        Assert.Equal(param, error.Param);
        Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_utf8_is_refused_with_the_offset_of_the_first_bad_byte()
    {
        var body = Encoding.UTF8.GetBytes("""{"model":"tiny","messages":[{"role":"user","content":"ab""").Concat(new byte[] { 0xC3, 0x28 })
            .Concat(Encoding.UTF8.GetBytes("\"}]}")).ToArray();

        var error = Assert.Throws<ApiException>(() => RequestBodyReader.Parse(body)).Error;

        Assert.Equal(400, error.Status);
        Assert.Contains("not valid UTF-8", error.Message, StringComparison.Ordinal);
        Assert.Contains($"offset {body.Length - 6}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sampling_fields_and_extensions_reach_the_sampling_parameters()
    {
        var request = Parse($$$"""
            {"model":"tiny","messages":{{{Hello}}},"temperature":0.3,"top_p":0.9,"top_k":40,"repetition_penalty":1.1,
             "seed":-7,"max_completion_tokens":12,"stop":["\n\n","END"],"n":3,"stream":true,"stream_options":{"include_usage":true}}
            """);

        Assert.Equal(0.3f, request.Sampling.Temperature);
        Assert.Equal(0.9f, request.Sampling.TopP);
        Assert.Equal(40, request.Sampling.TopK);
        Assert.Equal(1.1f, request.Sampling.RepetitionPenalty);
        Assert.Equal(-7, request.Sampling.Seed);
        Assert.Equal(12, request.Sampling.MaxTokens);
        Assert.Equal(["\n\n", "END"], request.Sampling.Stop);
        Assert.Equal(3, request.Choices);
        Assert.True(request.Stream);
        Assert.True(request.IncludeUsage);
    }

    [Fact]
    public void Omitted_fields_keep_the_documented_defaults()
    {
        var request = Parse($$$"""{"model":"tiny","messages":{{{Hello}}}}""");

        Assert.Equal(new SamplingParameters().Temperature, request.Sampling.Temperature);
        Assert.Null(request.Sampling.MaxTokens);
        Assert.Null(request.Sampling.Seed);
        Assert.Empty(request.Sampling.Stop);
        Assert.Equal(1, request.Sampling.BeamWidth);
        Assert.Equal(1, request.Choices);
        Assert.False(request.Stream);
        Assert.False(request.IncludeUsage);
    }

    [Fact]
    public void Max_tokens_and_a_single_stop_string_are_read()
    {
        var request = Parse($$$"""{"model":"tiny","messages":{{{Hello}}},"max_tokens":5,"stop":"Q:","beam_width":4}""");

        Assert.Equal(5, request.Sampling.MaxTokens);
        Assert.Equal(["Q:"], request.Sampling.Stop);
        Assert.Equal(4, request.Sampling.BeamWidth);
    }

    [Fact]
    public void Messages_keep_their_order_and_developer_is_the_system_role()
    {
        var request = Parse("""
            {"model":"tiny","messages":[
              {"role":"developer","content":"be brief"},
              {"role":"user","content":[{"type":"text","text":"one "},{"type":"text","text":"two"}],"name":"ann"},
              {"role":"assistant","content":"three","refusal":null}]}
            """);

        Assert.Equal(
            [new ChatMessage("system", "be brief"), new ChatMessage("user", "one two"), new ChatMessage("assistant", "three")],
            request.Messages);
    }

    [Fact]
    public void Neutral_values_of_unsupported_parameters_are_accepted()
    {
        var request = Parse($$$"""
            {"model":"tiny","messages":{{{Hello}}},"tools":[],"tool_choice":"none","response_format":{"type":"text"},
             "logprobs":false,"presence_penalty":0,"frequency_penalty":0,"logit_bias":{},"user":"u1","store":false,"n":null,"temperature":null}
            """);

        Assert.Equal(1, request.Choices);
        Assert.Equal(new SamplingParameters().Temperature, request.Sampling.Temperature);
    }

    private static ChatCompletionRequest Parse(string body)
    {
        using var document = body.Length == 0 ? null : RequestBodyReader.Parse(Encoding.UTF8.GetBytes(body));
        return ChatCompletionRequestParser.Parse(document, Options);
    }
}

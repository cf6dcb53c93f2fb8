using System.Text.Json;
using ChatCluster.Gateway.Errors;
using ChatCluster.Gateway.Http;
using ChatCluster.Inference;

namespace ChatCluster.Gateway.OpenAi;

/// <summary>
/// Validates a chat completion body field by field. Parameters this server does not implement are refused
/// by name unless they hold their neutral value (null, false, 0, empty, or the one text-only choice), so a
/// client never gets a reply that silently ignored what it asked for.
/// </summary>
public static class ChatCompletionRequestParser
{
    private static readonly Dictionary<string, Func<JsonElement, bool>> UnsupportedUnlessNeutral = new()
    {
        ["functions"] = IsEmpty,
        ["function_call"] = static v => IsEmpty(v) || v is { ValueKind: JsonValueKind.String } && v.ValueEquals("none"),
        ["logprobs"] = IsEmpty,
        ["top_logprobs"] = IsEmpty,
        ["frequency_penalty"] = IsEmpty,
        ["presence_penalty"] = IsEmpty,
        ["audio"] = IsEmpty,
        ["prediction"] = IsEmpty,
        ["modalities"] = static v => IsEmpty(v) || v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 1
            && v[0].ValueKind == JsonValueKind.String && v[0].ValueEquals("text"),
        ["reasoning_effort"] = IsEmpty,
        ["web_search_options"] = IsEmpty,
        ["store"] = IsEmpty,
        ["metadata"] = IsEmpty,
        ["service_tier"] = static v => IsEmpty(v) || v.ValueKind == JsonValueKind.String && (v.ValueEquals("auto") || v.ValueEquals("default")),
    };

    public static ChatCompletionRequest Parse(JsonDocument? body, GatewayOptions options)
    {
        if (body is null)
        {
            throw new ApiException(ApiError.Invalid("The request body is empty; expected a JSON object with model and messages."));
        }

        var root = JsonFields.RootObject(body);
        string? model = null;
        IReadOnlyList<ChatMessage>? messages = null;
        var sampling = new SamplingFields(options);
        var output = new OutputFields();
        var choices = 1;
        var stream = false;
        JsonElement? streamOptions = null;
        foreach (var property in root.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "model":
                    model = JsonFields.String(value, "model");
                    break;
                case "messages":
                    messages = ParseMessages(value, options.MaxMessages);
                    break;
                case "n":
                    choices = value.ValueKind == JsonValueKind.Null ? 1 : (int)JsonFields.Integer(value, "n", 1, options.MaxChoices);
                    break;
                case "stream":
                    stream = value.ValueKind != JsonValueKind.Null && JsonFields.Boolean(value, "stream");
                    break;
                case "stream_options":
                    streamOptions = value.ValueKind == JsonValueKind.Null ? null : value;
                    break;
                case "user":
                    // An end-user id for abuse tracking at OpenAI; it changes no output, so it is checked and dropped.
                    if (value.ValueKind != JsonValueKind.Null)
                    {
                        JsonFields.String(value, "user");
                    }

                    break;
                default:
                    if (!sampling.TryRead(property) && !output.TryRead(property))
                    {
                        RefuseUnknown(property);
                    }

                    break;
            }
        }

        if (model is null)
        {
            throw new ApiException(ApiError.Invalid("model: required; name the model to use (GET /v1/models lists them)", "model"));
        }

        if (messages is null)
        {
            throw new ApiException(ApiError.Invalid("messages: required; expected an array of {role, content} objects", "messages"));
        }

        if (choices > 1 && sampling.BeamWidth > 1)
        {
            throw JsonFields.Invalid("n", "n above 1 cannot be combined with beam_width above 1");
        }

        var includeUsage = ParseStreamOptions(streamOptions, stream);
        var (tools, constraint) = output.Build();
        var parameters = sampling.Build() with { Constraint = constraint };
        if (model != options.ModelId)
        {
            throw new ApiException(ApiError.NotFound(
                $"The model '{model}' does not exist; this server serves '{options.ModelId}'.", "model", "model_not_found"));
        }

        return new ChatCompletionRequest(model, messages, tools, parameters, choices, stream, includeUsage);
    }

    private static void RefuseUnknown(JsonProperty property)
    {
        if (UnsupportedUnlessNeutral.TryGetValue(property.Name, out var isNeutral))
        {
            if (!isNeutral(property.Value))
            {
                throw JsonFields.Invalid(property.Name, $"'{property.Name}' is not supported by this server");
            }

            return;
        }

        throw JsonFields.Invalid(property.Name, $"unrecognized request argument '{property.Name}'");
    }

    private static bool ParseStreamOptions(JsonElement? streamOptions, bool stream)
    {
        if (streamOptions is not { } options)
        {
            return false;
        }

        if (!stream)
        {
            throw JsonFields.Invalid("stream_options", "only allowed when stream is true");
        }

        JsonFields.RequireObject(options, "stream_options");
        var includeUsage = false;
        foreach (var property in options.EnumerateObject())
        {
            var param = $"stream_options.{property.Name}";
            switch (property.Name)
            {
                case "include_usage":
                    includeUsage = property.Value.ValueKind != JsonValueKind.Null && JsonFields.Boolean(property.Value, param);
                    break;
                case "include_obfuscation":
                    // Padding against length side channels; a local server has none to add, so only the type is checked.
                    if (property.Value.ValueKind != JsonValueKind.Null)
                    {
                        JsonFields.Boolean(property.Value, param);
                    }

                    break;
                default:
                    throw JsonFields.Invalid(param, $"unrecognized field '{property.Name}'");
            }
        }

        return includeUsage;
    }

    private static List<ChatMessage> ParseMessages(JsonElement value, int maxMessages)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw JsonFields.WrongType("messages", value, "an array of messages");
        }

        if (value.GetArrayLength() == 0)
        {
            throw JsonFields.Invalid("messages", "at least one message is required");
        }

        if (value.GetArrayLength() > maxMessages)
        {
            throw JsonFields.Invalid("messages", $"at most {maxMessages} messages are accepted; this request has {value.GetArrayLength()}");
        }

        var messages = new List<ChatMessage>(value.GetArrayLength());
        var index = 0;
        foreach (var item in value.EnumerateArray())
        {
            var message = ParseMessage(item, $"messages[{index}]");
            if (message.ToolCallId is { } callId && !messages.Any(m => m.ToolCalls?.Any(c => c.Id == callId) == true))
            {
                throw JsonFields.Invalid($"messages[{index}].tool_call_id", $"no earlier assistant message has a tool call with id '{callId}'");
            }

            messages.Add(message);
            index++;
        }

        return messages;
    }

    private static ChatMessage ParseMessage(JsonElement value, string param)
    {
        JsonFields.RequireObject(value, param);
        string? role = null;
        string? content = null;
        IReadOnlyList<ToolCall>? toolCalls = null;
        string? toolCallId = null;
        foreach (var property in value.EnumerateObject())
        {
            var field = $"{param}.{property.Name}";
            switch (property.Name)
            {
                case "role":
                    role = ParseRole(property.Value, field);
                    break;
                case "content":
                    content = property.Value.ValueKind == JsonValueKind.Null ? null : ParseContent(property.Value, field);
                    break;
                case "name":
                    // A participant name: OpenAI's models may see it, ours have no slot for it; checked and dropped.
                    JsonFields.String(property.Value, field);
                    break;
                case "tool_calls":
                    toolCalls = property.Value.ValueKind == JsonValueKind.Null ? null : ParseToolCalls(property.Value, field);
                    break;
                case "tool_call_id":
                    toolCallId = JsonFields.String(property.Value, field);
                    break;
                case "refusal" when property.Value.ValueKind == JsonValueKind.Null:
                    break;
                case "function_call" or "audio" or "refusal":
                    throw JsonFields.Invalid(field, $"'{property.Name}' is not supported by this server");
                default:
                    throw JsonFields.Invalid(field, $"unrecognized field '{property.Name}'");
            }
        }

        if (role is null)
        {
            throw JsonFields.Invalid($"{param}.role", "required; expected system, developer, user, assistant or tool");
        }

        if (toolCalls is not null && role != ChatMessage.Assistant)
        {
            throw JsonFields.Invalid($"{param}.tool_calls", "only assistant messages carry tool calls");
        }

        if ((role == ChatMessage.Tool) != (toolCallId is not null))
        {
            throw JsonFields.Invalid($"{param}.tool_call_id", role == ChatMessage.Tool ? "required in a tool message: the id of the call it answers" : "only tool messages answer a tool call");
        }

        // An assistant message that called tools may have no content (OpenAI's clients send null or leave it out).
        if (content is null && toolCalls is not { Count: > 0 })
        {
            throw JsonFields.Invalid($"{param}.content", "required; expected a string or an array of text parts");
        }

        return new ChatMessage(role, content ?? "") { ToolCalls = toolCalls, ToolCallId = toolCallId };
    }

    /// <summary>[{"id", "type": "function", "function": {"name", "arguments"}}], as the model's replies give them.</summary>
    private static List<ToolCall> ParseToolCalls(JsonElement value, string param)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw JsonFields.WrongType(param, value, "an array of tool calls");
        }

        var calls = new List<ToolCall>();
        var index = 0;
        foreach (var call in value.EnumerateArray())
        {
            var callParam = $"{param}[{index++}]";
            JsonFields.RequireObject(call, callParam);
            var id = call.TryGetProperty("id", out var idValue) ? JsonFields.String(idValue, $"{callParam}.id") : throw JsonFields.Invalid($"{callParam}.id", "required");
            if (call.TryGetProperty("type", out var type) && !(type.ValueKind == JsonValueKind.String && type.ValueEquals("function")))
            {
                throw JsonFields.Invalid($"{callParam}.type", "expected 'function'");
            }

            if (!call.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
            {
                throw JsonFields.Invalid($"{callParam}.function", "required; expected {\"name\", \"arguments\"}");
            }

            var name = function.TryGetProperty("name", out var nameValue) ? JsonFields.String(nameValue, $"{callParam}.function.name") : throw JsonFields.Invalid($"{callParam}.function.name", "required");
            var arguments = function.TryGetProperty("arguments", out var argumentsValue) ? JsonFields.String(argumentsValue, $"{callParam}.function.arguments") : "{}";
            calls.Add(new ToolCall(id, name, arguments));
        }

        return calls;
    }

    private static string ParseRole(JsonElement value, string param)
    {
        var role = JsonFields.String(value, param);
        return role switch
        {
            ChatMessage.System or ChatMessage.User or ChatMessage.Assistant or ChatMessage.Tool => role,

            // OpenAI's newer name for the system role, sent by current SDKs for "developer" messages.
            "developer" => ChatMessage.System,
            "function" => throw JsonFields.Invalid(param, "role 'function' (the deprecated functions API) is not supported; use tools and role 'tool'"),
            _ => throw JsonFields.Invalid(param, $"unknown role '{role}'; expected system, developer, user, assistant or tool"),
        };
    }

    /// <summary>A string, or an array of <c>{"type": "text", "text": ...}</c> parts joined in order.</summary>
    private static string ParseContent(JsonElement value, string param)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            return JsonFields.String(value, param);
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw JsonFields.WrongType(param, value, "a string or an array of text parts");
        }

        var text = new System.Text.StringBuilder();
        var index = 0;
        foreach (var part in value.EnumerateArray())
        {
            var partParam = $"{param}[{index}]";
            JsonFields.RequireObject(part, partParam);
            if (!part.TryGetProperty("type", out var type))
            {
                throw JsonFields.Invalid($"{partParam}.type", "required; expected 'text'");
            }

            var typeName = JsonFields.String(type, $"{partParam}.type");
            if (typeName != "text")
            {
                throw JsonFields.Invalid($"{partParam}.type", $"content parts of type '{typeName}' are not supported; only 'text'");
            }

            if (!part.TryGetProperty("text", out var partText))
            {
                throw JsonFields.Invalid($"{partParam}.text", "required");
            }

            text.Append(JsonFields.String(partText, $"{partParam}.text"));
            index++;
        }

        return text.ToString();
    }

    private static bool IsEmpty(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.False => true,
        JsonValueKind.Number => value.TryGetDouble(out var number) && number == 0,
        JsonValueKind.Array => value.GetArrayLength() == 0,
        JsonValueKind.Object => !value.EnumerateObject().Any(),
        _ => false,
    };
}

using System.Text.Json;
using ChatCluster.Gateway.Errors;
using ChatCluster.Gateway.Http;
using ChatCluster.Gateway.OpenAi;
using ChatCluster.Inference;

namespace ChatCluster.Gateway.Conversations;

/// <summary>Validates the conversation API's bodies with the same field rules as chat completions.</summary>
public static class ConversationRequestParser
{
    /// <summary>The body may be empty; it may hold <c>system</c> and any sampling field as the conversation's defaults.</summary>
    public static CreateConversationRequest ParseCreate(JsonDocument? body, GatewayOptions options)
    {
        if (body is null)
        {
            return new CreateConversationRequest(null, null);
        }

        var sampling = new SamplingFields(options);
        string? system = null;
        foreach (var property in JsonFields.RootObject(body).EnumerateObject())
        {
            if (property.Name == "system")
            {
                system = property.Value.ValueKind == JsonValueKind.Null ? null : JsonFields.String(property.Value, "system");
            }
            else if (!sampling.TryRead(property))
            {
                throw Unrecognized(property);
            }
        }

        return new CreateConversationRequest(system, sampling.Any ? sampling.Build() : null);
    }

    /// <summary>
    /// The body holds <c>content</c> (the user's message) or <c>tool_results</c> (<c>[{"tool_call_id", "content"}]</c>,
    /// answering the last reply's calls), and may hold <c>stream</c>, any sampling field, and <c>tools</c>,
    /// <c>tool_choice</c>, <c>parallel_tool_calls</c> and <c>response_format</c> for this turn.
    /// </summary>
    public static SendMessageRequest ParseMessage(JsonDocument? body, GatewayOptions options)
    {
        if (body is null)
        {
            throw new ApiException(ApiError.Invalid("The request body is empty; expected a JSON object with content.", "content"));
        }

        var sampling = new SamplingFields(options);
        var output = new OutputFields();
        string? content = null;
        List<ChatMessage>? results = null;
        var stream = false;
        foreach (var property in JsonFields.RootObject(body).EnumerateObject())
        {
            switch (property.Name)
            {
                case "content":
                    content = JsonFields.String(property.Value, "content");
                    break;
                case "tool_results":
                    results = ParseToolResults(property.Value);
                    break;
                case "stream":
                    stream = property.Value.ValueKind != JsonValueKind.Null && JsonFields.Boolean(property.Value, "stream");
                    break;
                default:
                    if (!sampling.TryRead(property) && !output.TryRead(property))
                    {
                        throw Unrecognized(property);
                    }

                    break;
            }
        }

        if ((content is null) == (results is null))
        {
            throw JsonFields.Invalid("content", "required, or tool_results instead (not both): the user's message as a string, or the results of the last reply's tool calls");
        }

        var (tools, constraint) = output.Build();
        IReadOnlyList<ChatMessage> messages = results ?? [new ChatMessage(ChatMessage.User, content!)];
        return new SendMessageRequest(messages, stream, sampling.Any ? sampling.Build() : null, tools, constraint);
    }

    private static List<ChatMessage> ParseToolResults(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
        {
            throw JsonFields.Invalid("tool_results", "expected a non-empty array of {\"tool_call_id\", \"content\"}");
        }

        var results = new List<ChatMessage>();
        var index = 0;
        foreach (var result in value.EnumerateArray())
        {
            var param = $"tool_results[{index++}]";
            JsonFields.RequireObject(result, param);
            string? id = null;
            string? text = null;
            foreach (var field in result.EnumerateObject())
            {
                switch (field.Name)
                {
                    case "tool_call_id":
                        id = JsonFields.String(field.Value, $"{param}.tool_call_id");
                        break;
                    case "content":
                        text = JsonFields.String(field.Value, $"{param}.content");
                        break;
                    default:
                        throw JsonFields.Invalid($"{param}.{field.Name}", $"unrecognized field '{field.Name}'");
                }
            }

            results.Add(new ChatMessage(ChatMessage.Tool, text ?? throw JsonFields.Invalid($"{param}.content", "required"))
            {
                ToolCallId = id ?? throw JsonFields.Invalid($"{param}.tool_call_id", "required"),
            });
        }

        return results;
    }

    private static ApiException Unrecognized(JsonProperty property) =>
        JsonFields.Invalid(property.Name, $"unrecognized request argument '{property.Name}'");
}

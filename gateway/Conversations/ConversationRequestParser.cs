using System.Text.Json;
using ChatCluster.Gateway.Errors;
using ChatCluster.Gateway.Http;

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

    /// <summary>The body holds <c>content</c>, and may hold <c>stream</c> and any sampling field.</summary>
    public static SendMessageRequest ParseMessage(JsonDocument? body, GatewayOptions options)
    {
        if (body is null)
        {
            throw new ApiException(ApiError.Invalid("The request body is empty; expected a JSON object with content.", "content"));
        }

        var sampling = new SamplingFields(options);
        string? content = null;
        var stream = false;
        foreach (var property in JsonFields.RootObject(body).EnumerateObject())
        {
            switch (property.Name)
            {
                case "content":
                    content = JsonFields.String(property.Value, "content");
                    break;
                case "stream":
                    stream = property.Value.ValueKind != JsonValueKind.Null && JsonFields.Boolean(property.Value, "stream");
                    break;
                default:
                    if (!sampling.TryRead(property))
                    {
                        throw Unrecognized(property);
                    }

                    break;
            }
        }

        if (content is null)
        {
            throw JsonFields.Invalid("content", "required; expected the user's message as a string");
        }

        return new SendMessageRequest(content, stream, sampling.Any ? sampling.Build() : null);
    }

    private static ApiException Unrecognized(JsonProperty property) =>
        JsonFields.Invalid(property.Name, $"unrecognized request argument '{property.Name}'");
}

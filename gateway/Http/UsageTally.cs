using System.Text.Json;
using ChatCluster.Gateway.Errors;
using ChatCluster.Inference;
using Microsoft.AspNetCore.Http;

namespace ChatCluster.Gateway.Http;

/// <summary>
/// Counts a response's tokens from the last event of each choice, as OpenAI counts them: the prompt once,
/// the completion tokens of every choice added up.
/// </summary>
internal sealed class UsageTally
{
    public int PromptTokens { get; private set; }

    public int CompletionTokens { get; private set; }

    public int DroppedMessages { get; private set; }

    public int CachedTokens { get; private set; }

    /// <summary>Records <paramref name="delta"/> if it ends its choice, and returns OpenAI's name of the reason.</summary>
    public string? Finish(ChatDelta delta)
    {
        if (delta.Finish is not { } finish)
        {
            return null;
        }

        PromptTokens = delta.PromptTokens;
        DroppedMessages = delta.DroppedMessages;
        CachedTokens = delta.CachedTokens;
        CompletionTokens += delta.CompletionTokens;
        return finish switch
        {
            FinishReason.Stop => "stop",
            FinishReason.Length => "length",
            FinishReason.ToolCalls => "tool_calls",

            // The caller went away or the server is shutting down: there is no reply to finish.
            _ => throw new ApiException(new ApiError(StatusCodes.Status503ServiceUnavailable,
                "The reply was cancelled by the server before it finished; retry the request.", "server_error")),
        };
    }

    public void Write(Utf8JsonWriter json)
    {
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", PromptTokens);
        json.WriteNumber("completion_tokens", CompletionTokens);
        json.WriteNumber("total_tokens", PromptTokens + CompletionTokens);
        json.WriteStartObject("prompt_tokens_details");
        json.WriteNumber("cached_tokens", CachedTokens);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}

using System.Text;
using System.Text.Json;
using ChatCluster.Gateway.Http;
using ChatCluster.Inference;
using ChatCluster.Inference.Tools;
using Microsoft.AspNetCore.Http;

namespace ChatCluster.Gateway.Conversations;

/// <summary>
/// The assistant's reply in the conversation API's shapes: one object
/// <c>{"role": "assistant", "content", "tool_calls"?, "finish_reason", "usage"}</c>, or a stream of
/// <c>{"delta": "text"}</c> and <c>{"tool_calls": [piece]}</c> events (OpenAI's piece shape), then
/// <c>{"finish_reason", "usage"}</c>, then <c>[DONE]</c>.
/// </summary>
internal static class ConversationReplyWriter
{
    public static async Task WriteStreamAsync(ServerSentEventWriter events, ChoiceMerger reply, CancellationToken cancellationToken)
    {
        var usage = new UsageTally();
        // Events are flushed whenever the next delta is not ready yet (and by [DONE]).
        await foreach (var delta in reply.ReadAllAsync(events.FlushAsync, cancellationToken))
        {
            if (delta.Text.Length > 0)
            {
                var json = events.BeginEvent();
                json.WriteStartObject();
                json.WriteString("delta", delta.Text);
                json.WriteEndObject();
                events.EndEvent();
            }

            if (delta.ToolCall is { } call)
            {
                var json = events.BeginEvent();
                json.WriteStartObject();
                ToolCallJson.WriteDelta(json, call);
                json.WriteEndObject();
                events.EndEvent();
            }

            if (usage.Finish(delta) is { } finishReason)
            {
                var json = events.BeginEvent();
                json.WriteStartObject();
                WriteEnd(json, finishReason, usage);
                json.WriteEndObject();
                events.EndEvent();
            }
        }

        await events.WriteDoneAsync(cancellationToken);
    }

    public static async Task WriteObjectAsync(HttpResponse response, ChoiceMerger reply, CancellationToken cancellationToken)
    {
        var usage = new UsageTally();
        var content = new StringBuilder();
        var calls = new ToolCallCollector();
        string? finishReason = null;
        await foreach (var delta in reply.ReadAllAsync(cancellationToken))
        {
            content.Append(delta.Text);
            calls.Add(delta.ToolCall);
            finishReason ??= usage.Finish(delta);
        }

        response.ContentType = "application/json; charset=utf-8";
        using (var json = new Utf8JsonWriter(response.BodyWriter, JsonResponse.WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("role", ChatMessage.Assistant);
            json.WriteString("content", content.ToString());
            if (calls.Calls.Count > 0)
            {
                ToolCallJson.WriteArray(json, calls.Calls);
            }

            WriteEnd(json, finishReason ?? "stop", usage);
            json.WriteEndObject();
        }

        await response.BodyWriter.FlushAsync(cancellationToken);
    }

    private static void WriteEnd(Utf8JsonWriter json, string finishReason, UsageTally usage)
    {
        json.WriteString("finish_reason", finishReason);
        usage.Write(json);
        json.WriteNumber("dropped_messages", usage.DroppedMessages);
    }
}

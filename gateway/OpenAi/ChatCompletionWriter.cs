using System.Text;
using System.Text.Json;
using ChatCluster.Gateway.Http;
using ChatCluster.Inference;
using ChatCluster.Inference.Tools;
using Microsoft.AspNetCore.Http;

namespace ChatCluster.Gateway.OpenAi;

/// <summary>
/// Writes a chat completion the way OpenAI's clients parse it: one <c>chat.completion</c> object, or a stream
/// of <c>chat.completion.chunk</c> events (a role chunk first per choice, content chunks with a null
/// finish_reason, an empty-delta chunk with the finish reason, the usage chunk if asked for, then [DONE]).
/// </summary>
internal sealed class ChatCompletionWriter(ChatCompletionRequest request, string id, long created)
{
    public async Task WriteStreamAsync(ServerSentEventWriter events, ChoiceMerger choices, CancellationToken cancellationToken)
    {
        var usage = new UsageTally();
        var started = new List<bool>();
        // Chunks are flushed whenever the next delta is not ready yet (and by [DONE]).
        await foreach (var delta in choices.ReadAllAsync(events.FlushAsync, cancellationToken))
        {
            while (started.Count <= delta.Index)
            {
                started.Add(false);
            }

            if (!started[delta.Index])
            {
                started[delta.Index] = true;
                WriteChunk(events, delta.Index, role: ChatMessage.Assistant, content: "", finishReason: null);
            }

            if (delta.Text.Length > 0)
            {
                WriteChunk(events, delta.Index, role: null, delta.Text, finishReason: null);
            }

            if (delta.ToolCall is { } call)
            {
                WriteToolCallChunk(events, delta.Index, call);
            }

            if (usage.Finish(delta) is { } finishReason)
            {
                WriteChunk(events, delta.Index, role: null, content: null, finishReason);
            }
        }

        if (request.IncludeUsage)
        {
            var json = events.BeginEvent();
            WriteHeader(json, "chat.completion.chunk");
            json.WriteStartArray("choices");
            json.WriteEndArray();
            usage.Write(json);
            json.WriteEndObject();
            events.EndEvent();
        }

        await events.WriteDoneAsync(cancellationToken);
    }

    public async Task WriteObjectAsync(HttpResponse response, ChoiceMerger choices, CancellationToken cancellationToken)
    {
        var usage = new UsageTally();
        var texts = new List<StringBuilder>();
        var calls = new List<ToolCallCollector>();
        var finishReasons = new List<string?>();
        await foreach (var delta in choices.ReadAllAsync(cancellationToken))
        {
            while (texts.Count <= delta.Index)
            {
                texts.Add(new StringBuilder());
                calls.Add(new ToolCallCollector());
                finishReasons.Add(null);
            }

            texts[delta.Index].Append(delta.Text);
            calls[delta.Index].Add(delta.ToolCall);

            finishReasons[delta.Index] ??= usage.Finish(delta);
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json; charset=utf-8";
        using (var json = new Utf8JsonWriter(response.BodyWriter, JsonResponse.WriterOptions))
        {
            WriteHeader(json, "chat.completion");
            json.WriteStartArray("choices");
            for (var index = 0; index < texts.Count; index++)
            {
                json.WriteStartObject();
                json.WriteNumber("index", index);
                json.WriteStartObject("message");
                json.WriteString("role", ChatMessage.Assistant);
                var toolCalls = calls[index].Calls;
                if (texts[index].Length == 0 && toolCalls.Count > 0)
                {
                    json.WriteNull("content");
                }
                else
                {
                    json.WriteString("content", texts[index].ToString());
                }

                json.WriteNull("refusal");
                if (toolCalls.Count > 0)
                {
                    ToolCallJson.WriteArray(json, toolCalls);
                }

                json.WriteEndObject();
                json.WriteNull("logprobs");
                json.WriteString("finish_reason", finishReasons[index] ?? "stop");
                json.WriteEndObject();
            }

            json.WriteEndArray();
            usage.Write(json);
            json.WriteEndObject();
        }

        await response.BodyWriter.FlushAsync(cancellationToken);
    }

    private void WriteChunk(ServerSentEventWriter events, int index, string? role, string? content, string? finishReason)
    {
        var json = BeginChunk(events, index);
        if (role is not null)
        {
            json.WriteString("role", role);
        }

        if (content is not null)
        {
            json.WriteString("content", content);
        }

        EndChunk(events, json, finishReason);
    }

    /// <summary>
    /// A piece of a tool call in OpenAI's stream shape: the call's index, id, type and name once (arguments ""),
    /// then its arguments in fragments under the same index.
    /// </summary>
    private void WriteToolCallChunk(ServerSentEventWriter events, int index, ToolCallDelta call)
    {
        var json = BeginChunk(events, index);
        ToolCallJson.WriteDelta(json, call);
        EndChunk(events, json, finishReason: null);
    }

    /// <summary>Opens a chunk event of one choice, up to the inside of its <c>delta</c> object.</summary>
    private Utf8JsonWriter BeginChunk(ServerSentEventWriter events, int index)
    {
        var json = events.BeginEvent();
        WriteHeader(json, "chat.completion.chunk");
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", index);
        json.WriteStartObject("delta");
        return json;
    }

    /// <summary>Closes what <see cref="BeginChunk"/> opened, with the choice's finish reason (null until it ends).</summary>
    private static void EndChunk(ServerSentEventWriter events, Utf8JsonWriter json, string? finishReason)
    {
        json.WriteEndObject();
        json.WriteNull("logprobs");
        if (finishReason is null)
        {
            json.WriteNull("finish_reason");
        }
        else
        {
            json.WriteString("finish_reason", finishReason);
        }

        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
        events.EndEvent();
    }

    /// <summary>Opens the object and writes the fields every completion object and chunk starts with.</summary>
    private void WriteHeader(Utf8JsonWriter json, string objectType)
    {
        json.WriteStartObject();
        json.WriteString("id", id);
        json.WriteString("object", objectType);
        json.WriteNumber("created", created);
        json.WriteString("model", request.Model);
        json.WriteNull("system_fingerprint");
    }
}

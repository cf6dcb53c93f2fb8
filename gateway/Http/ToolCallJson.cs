using System.Text.Json;
using ChatCluster.Inference;

namespace ChatCluster.Gateway.Http;

/// <summary>Tool calls in OpenAI's JSON shape, shared by chat completions and the conversation API.</summary>
internal static class ToolCallJson
{
    /// <summary><c>"tool_calls": [{"id", "type": "function", "function": {"name", "arguments"}}]</c>.</summary>
    public static void WriteArray(Utf8JsonWriter json, IReadOnlyList<ToolCall> calls)
    {
        json.WriteStartArray("tool_calls");
        foreach (var call in calls)
        {
            json.WriteStartObject();
            json.WriteString("id", call.Id);
            json.WriteString("type", "function");
            json.WriteStartObject("function");
            json.WriteString("name", call.Name);
            json.WriteString("arguments", call.Arguments);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    /// <summary>
    /// One streamed piece: <c>"tool_calls": [{"index", "id", "type", "function": {"name", "arguments"}}]</c> with
    /// the id, type and name on a call's first piece only, as OpenAI streams them.
    /// </summary>
    public static void WriteDelta(Utf8JsonWriter json, ToolCallDelta call)
    {
        json.WriteStartArray("tool_calls");
        json.WriteStartObject();
        json.WriteNumber("index", call.CallIndex);
        if (call.Id is not null)
        {
            json.WriteString("id", call.Id);
            json.WriteString("type", "function");
        }

        json.WriteStartObject("function");
        if (call.Name is not null)
        {
            json.WriteString("name", call.Name);
        }

        json.WriteString("arguments", call.Arguments);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndArray();
    }
}

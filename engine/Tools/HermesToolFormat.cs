using System.Text;
using System.Text.Json;

namespace ChatCluster.Inference.Tools;

/// <summary>
/// The tool-calling format of Qwen 2.5's chat template (NousResearch's Hermes format), which this engine uses for
/// every layout: the model sees the tools as JSON lines inside &lt;tools&gt;&lt;/tools&gt; in the system message,
/// calls one as <c>&lt;tool_call&gt;\n{"name": "f", "arguments": {...}}\n&lt;/tool_call&gt;</c>, and reads results
/// as a user turn of &lt;tool_response&gt; blocks. Models whose template has it (Qwen 2.5, Hermes) get the exact text
/// of their template. Others (the bundled model, Gemma, Llama 3) get the same calls and results, with the tools
/// listed in a short generic form: one line per tool as a signature, since Qwen's block of JSON schemas and
/// instructions alone would fill most of a small model's window (the bundled model's is 256 tokens). The grammar
/// makes any model keep to the call format.
/// </summary>
public static class HermesToolFormat
{
    /// <summary>Where a call starts: in <c>tool_choice: auto</c>, the grammar takes over once the model writes it.</summary>
    public const string Trigger = "<tool_call>";

    /// <summary>A call's text up to its name.</summary>
    public const string CallStart = "<tool_call>\n{\"name\": \"";

    /// <summary>Between a call's name and its arguments object.</summary>
    public const string ArgumentsStart = "\", \"arguments\": ";

    /// <summary>After a call's arguments object.</summary>
    public const string CallEnd = "}\n</tool_call>";

    /// <summary>Between two calls of one reply.</summary>
    public const string CallSeparator = "\n";

    private const string ToolsHeader =
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>";

    private const string ToolsFooter =
        "\n</tools>\n\nFor each function call, return a json object with function name and arguments within " +
        "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>";

    /// <summary>Whether <paramref name="messages"/> need this format's rendering before a plain chat layout takes them.</summary>
    public static bool Needed(IReadOnlyList<ChatMessage> messages, IReadOnlyList<ToolDefinition> tools) =>
        tools.Count > 0 || messages.Any(m => m.Role == ChatMessage.Tool || m.ToolCalls is { Count: > 0 });

    /// <summary>
    /// Rewrites a chat with tools, tool calls and tool results into system, user and assistant messages holding
    /// the format's text, as Qwen 2.5's template lays them out. <paramref name="defaultSystemMessage"/> is the
    /// template's own, used when the chat has no system message to carry the tools.
    /// </summary>
    public static List<ChatMessage> Render(IReadOnlyList<ChatMessage> messages, IReadOnlyList<ToolDefinition> tools, string? defaultSystemMessage, bool templateHasTools)
    {
        var rendered = new List<ChatMessage>(messages.Count + 1);
        var start = 0;
        if (tools.Count > 0)
        {
            var system = messages.Count > 0 && messages[0].Role == ChatMessage.System ? messages[start++].Content : defaultSystemMessage;
            var block = templateHasTools ? ToolsBlock(tools) : ToolSignatures.Block(tools);
            rendered.Add(new ChatMessage(ChatMessage.System, (system is null ? "" : system + "\n\n") + block));
        }

        for (var i = start; i < messages.Count; i++)
        {
            var message = messages[i];
            if (message.Role == ChatMessage.Tool)
            {
                // Consecutive results share one user turn.
                var results = new StringBuilder();
                for (; i < messages.Count && messages[i].Role == ChatMessage.Tool; i++)
                {
                    results.Append(results.Length == 0 ? "" : "\n").Append("<tool_response>\n").Append(messages[i].Content).Append("\n</tool_response>");
                }

                i--;
                rendered.Add(new ChatMessage(ChatMessage.User, results.ToString()));
            }
            else if (message.ToolCalls is { Count: > 0 } calls)
            {
                var text = new StringBuilder(message.Content);
                foreach (var call in calls)
                {
                    text.Append(text.Length == 0 ? "" : CallSeparator);
                    AppendCall(call.Name, call.Arguments, text);
                }

                rendered.Add(new ChatMessage(ChatMessage.Assistant, text.ToString()));
            }
            else
            {
                rendered.Add(message);
            }
        }

        return rendered;
    }

    /// <summary>One call as the model writes it (arguments re-written with the template's separators).</summary>
    public static void AppendCall(string name, string arguments, StringBuilder text)
    {
        text.Append(CallStart).Append(name).Append(ArgumentsStart);
        try
        {
            text.Append(PythonStyleJson.Write(arguments));
        }
        catch (JsonException)
        {
            // Stored history written by a client: shown as it was sent rather than refused at every later turn.
            text.Append(arguments);
        }

        text.Append(CallEnd);
    }

    private static string ToolsBlock(IReadOnlyList<ToolDefinition> tools)
    {
        var text = new StringBuilder(ToolsHeader);
        foreach (var tool in tools)
        {
            // {"type": "function", "function": {"name", "description", "parameters"}}, OpenAI's tool object.
            text.Append("\n{\"type\": \"function\", \"function\": {\"name\": ");
            PythonStyleJson.AppendString(tool.Name, text);
            if (tool.Description is not null)
            {
                text.Append(", \"description\": ");
                PythonStyleJson.AppendString(tool.Description, text);
            }

            text.Append(", \"parameters\": ").Append(PythonStyleJson.Write(tool.ParametersSchema)).Append("}}");
        }

        return text.Append(ToolsFooter).ToString();
    }
}

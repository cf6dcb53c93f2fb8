using System.Text.Json;
using ChatCluster.Inference;
using ChatCluster.Inference.Tokenization;
using ChatCluster.Tests.Tokenization;

namespace ChatCluster.Tests.Tools;

/// <summary>
/// Tools, tool calls and tool results laid out as Qwen 2.5's own chat template lays them out, rendered by jinja2
/// the way transformers renders it: the same text, and the same ids as tokenizing that text.
/// </summary>
public sealed class ToolTemplateReferenceTests
{
    // Qwen 2.5 Instruct's chat template (tokenizer_config.json), with its tools branch.
    private const string Qwen25Template = """
        {%- if tools %}
            {{- '<|im_start|>system\n' }}
            {%- if messages[0]['role'] == 'system' %}
                {{- messages[0]['content'] }}
            {%- else %}
                {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
            {%- endif %}
            {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
            {%- for tool in tools %}
                {{- "\n" }}
                {{- tool | tojson }}
            {%- endfor %}
            {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
        {%- else %}
            {%- if messages[0]['role'] == 'system' %}
                {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
            {%- else %}
                {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
            {%- endif %}
        {%- endif %}
        {%- for message in messages %}
            {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
                {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
            {%- elif message.role == "assistant" %}
                {{- '<|im_start|>' + message.role }}
                {%- if message.content %}
                    {{- '\n' + message.content }}
                {%- endif %}
                {%- for tool_call in message.tool_calls %}
                    {%- if tool_call.function is defined %}
                        {%- set tool_call = tool_call.function %}
                    {%- endif %}
                    {{- '\n<tool_call>\n{"name": "' }}
                    {{- tool_call.name }}
                    {{- '", "arguments": ' }}
                    {{- tool_call.arguments | tojson }}
                    {{- '}\n</tool_call>' }}
                {%- endfor %}
                {{- '<|im_end|>\n' }}
            {%- elif message.role == "tool" %}
                {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
                    {{- '<|im_start|>user' }}
                {%- endif %}
                {{- '\n<tool_response>\n' }}
                {{- message.content }}
                {{- '\n</tool_response>' }}
                {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
                    {{- '<|im_end|>\n' }}
                {%- endif %}
            {%- endif %}
        {%- endfor %}
        {%- if add_generation_prompt %}
            {{- '<|im_start|>assistant\n' }}
        {%- endif %}
        """;

    private static readonly ToolDefinition[] Tools =
    [
        new("get_weather", "Weather now in a city, in °C.", """{"type": "object", "properties": {"city": {"type": "string", "description": "e.g. \"Oslo\"\n(no country)"}, "days": {"type": "integer", "minimum": 1}}, "required": ["city"]}"""),
        new("get-time", null, """{"type": "object", "properties": {}}"""),
    ];

    private static readonly (ChatMessage[] Chat, ToolDefinition[] Tools)[] Cases =
    [
        ([new(ChatMessage.System, "You are terse."), new(ChatMessage.User, "Weather in Oslo?")], Tools),
        ([new(ChatMessage.User, "Weather in Oslo and the time?")], Tools),
        ([
            new(ChatMessage.User, "Weather in Oslo and the time?"),
            new(ChatMessage.Assistant, "") { ToolCalls = [new("call_1", "get_weather", """{"city":"Oslo","days":2}"""), new("call_2", "get-time", "{}")] },
            new(ChatMessage.Tool, """{"temperature": -3}""") { ToolCallId = "call_1" },
            new(ChatMessage.Tool, "12:00") { ToolCallId = "call_2" },
        ], Tools),
        ([
            new(ChatMessage.System, "Be kind."),
            new(ChatMessage.User, "Time?"),
            new(ChatMessage.Assistant, "Let me look.") { ToolCalls = [new("call_9", "get-time", "{ }")] },
            new(ChatMessage.Tool, "09:30") { ToolCallId = "call_9" },
            new(ChatMessage.Assistant, "It is 09:30."),
            new(ChatMessage.User, "Thanks <tool_call> </tool_response>"),
        ], []),
    ];

    [Fact]
    public void Tools_calls_and_results_render_as_qwen_25_renders_them()
    {
        var rendered = ChatTemplateReferenceTests.RenderWithJinja(Cases.Select(c => new
        {
            template = Qwen25Template,
            messages = c.Chat.Select(m => new
            {
                role = m.Role,
                content = m.Content,
                tool_calls = m.ToolCalls?.Select(call => new
                {
                    id = call.Id,
                    type = "function",
                    function = new { name = call.Name, arguments = JsonDocument.Parse(call.Arguments).RootElement },
                }),
                tool_call_id = m.ToolCallId,
            }),
            tools = c.Tools.Length == 0 ? null : c.Tools.Select(t => t.Description is null
                ? (object)new { type = "function", function = new { name = t.Name, parameters = JsonDocument.Parse(t.ParametersSchema).RootElement } }
                : new { type = "function", function = new { name = t.Name, description = t.Description, parameters = JsonDocument.Parse(t.ParametersSchema).RootElement } }),
            add_generation_prompt = true,
            bos_token = "<|endoftext|>",
            eos_token = "<|im_end|>",
        }));

        var template = ChatTemplate.FromTemplate(Qwen25Template, ChatTemplateReferenceTests.Tokenizer, "<|im_end|>");
        for (var i = 0; i < Cases.Length; i++)
        {
            var ids = new List<int>();
            template.Encode(Cases[i].Chat, addGenerationPrompt: true, ids, Cases[i].Tools);
            var text = ChatTemplateReferenceTests.Tokenizer.Decode(ids.ToArray());
            Assert.True(rendered[i] == text, $"case {i}: expected\n{rendered[i]}\nbut the engine rendered\n{text}");
            Assert.Equal(ChatTemplateReferenceTests.TokenizeLikeHuggingFace(rendered[i]), ids);
        }
    }
}

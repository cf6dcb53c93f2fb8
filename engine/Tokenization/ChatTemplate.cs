using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using ChatCluster.Inference.Tools;

namespace ChatCluster.Inference.Tokenization;

/// <summary>
/// Turns a chat into prompt token ids the way the model's chat template (tokenizer_config.json's
/// <c>chat_template</c>, a Jinja program) lays it out. We do not run Jinja: the template is recognized as one of
/// the known layouts, which is then produced directly.
///   ChatML (Qwen, our bundled model):  &lt;|im_start|&gt;{role}\n{content}&lt;|im_end|&gt;\n ... &lt;|im_start|&gt;assistant\n
///     with Qwen's default system message when the template has one and the chat starts without a system message
///   Llama 3:  &lt;|begin_of_text|&gt; &lt;|start_header_id|&gt;{role}&lt;|end_header_id|&gt;\n\n{content, trimmed}&lt;|eot_id|&gt; ...
///   Gemma:    &lt;bos&gt; &lt;start_of_turn&gt;{user|model}\n{content, trimmed}&lt;end_of_turn&gt;\n ... &lt;start_of_turn&gt;model\n
///     Gemma has no system role: a leading system message opens the first turn's content, followed by a blank line
///     (Gemma 3's template). Where Gemma's template refuses a chat whose roles do not alternate user/assistant,
///     we lay it out all the same: OpenAI API callers may send two user messages in a row.
/// Control tokens are inserted by id; roles and contents are encoded as ordinary text, so a user who types
/// "&lt;|im_end|&gt;" gets those characters, never the control token. Each stretch of text between two control
/// tokens is encoded as one string, as tokenizing the rendered template would.
/// </summary>
public sealed partial class ChatTemplate
{
    private readonly BpeTokenizer _tokenizer;
    private readonly Layout _layout;
    private readonly int _messageStart;   // <|im_start|>, <|start_header_id|> or <start_of_turn>
    private readonly int _messageEnd;     // <|im_end|>, <|eot_id|> or <end_of_turn>
    private readonly int _headerEnd;      // Llama 3: <|end_header_id|>
    private readonly int _beginOfText;    // Llama 3: <|begin_of_text|>; Gemma: <bos>
    private readonly int[] _stopTokenIds;
    private readonly string? _defaultSystemMessage;
    private readonly bool _hasHermesTools;

    private enum Layout { ChatML, Llama3, Gemma }

    private ChatTemplate(BpeTokenizer tokenizer, Layout layout, string? eosToken, string? defaultSystemMessage = null, bool hasHermesTools = false)
    {
        _tokenizer = tokenizer;
        _hasHermesTools = hasHermesTools;
        _layout = layout;
        _defaultSystemMessage = defaultSystemMessage;
        switch (layout)
        {
            case Layout.ChatML:
                _messageStart = ControlToken("<|im_start|>");
                _messageEnd = ControlToken("<|im_end|>");
                break;
            case Layout.Llama3:
                _beginOfText = ControlToken("<|begin_of_text|>");
                _messageStart = ControlToken("<|start_header_id|>");
                _headerEnd = ControlToken("<|end_header_id|>");
                _messageEnd = ControlToken("<|eot_id|>");
                break;
            case Layout.Gemma:
                _beginOfText = ControlToken("<bos>");
                _messageStart = ControlToken("<start_of_turn>");
                _messageEnd = ControlToken("<end_of_turn>");
                break;
        }
        var stops = new List<int> { _messageEnd };
        if (eosToken is not null && tokenizer.TryGetSpecialTokenId(eosToken, out int eos) && eos != _messageEnd)
            stops.Add(eos);
        _stopTokenIds = stops.ToArray();
    }

    /// <summary>"ChatML", "Llama 3" or "Gemma": the layout the template was recognized as.</summary>
    public string Name => _layout switch { Layout.ChatML => "ChatML", Layout.Llama3 => "Llama 3", _ => "Gemma" };

    /// <summary>Tokens that end the assistant's turn: the end-of-message token and the model's eos token.</summary>
    public IReadOnlyList<int> StopTokenIds => _stopTokenIds;

    /// <summary>
    /// Reads the template from <paramref name="modelDirectory"/>/tokenizer_config.json (or chat_template.jinja
    /// beside it, where newer exports put it).
    /// </summary>
    /// <exception cref="NotSupportedException">The template is missing or not a layout we know.</exception>
    /// <exception cref="InvalidDataException">tokenizer_config.json cannot be read.</exception>
    public static ChatTemplate Load(string modelDirectory, BpeTokenizer tokenizer)
    {
        string configPath = Path.Combine(modelDirectory, "tokenizer_config.json");
        string? template = null, eosToken = null;
        if (File.Exists(configPath))
        {
            try
            {
                using JsonDocument config = JsonDocument.Parse(File.ReadAllBytes(configPath));
                template = ReadTemplate(config.RootElement);
                eosToken = ReadTokenText(config.RootElement, "eos_token");
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{configPath} is not valid JSON: {e.Message}", e);
            }
        }
        string jinjaPath = Path.Combine(modelDirectory, "chat_template.jinja");
        if (template is null && File.Exists(jinjaPath))
            template = File.ReadAllText(jinjaPath);
        if (template is null)
            throw new NotSupportedException($"{modelDirectory} has no chat template (tokenizer_config.json \"chat_template\" or chat_template.jinja).");
        return FromTemplate(template, tokenizer, eosToken);
    }

    /// <summary>Recognizes <paramref name="template"/> (the Jinja source).</summary>
    /// <exception cref="NotSupportedException">Not a layout we know, or its control tokens are not in the tokenizer.</exception>
    public static ChatTemplate FromTemplate(string template, BpeTokenizer tokenizer, string? eosToken)
    {
        if (template.Contains("<|im_start|>", StringComparison.Ordinal) && template.Contains("<|im_end|>", StringComparison.Ordinal))
            return new ChatTemplate(tokenizer, Layout.ChatML, eosToken, FindDefaultSystemMessage(template),
                hasHermesTools: template.Contains("<tool_call>", StringComparison.Ordinal));
        if (template.Contains("<|start_header_id|>", StringComparison.Ordinal) && template.Contains("<|eot_id|>", StringComparison.Ordinal))
            return new ChatTemplate(tokenizer, Layout.Llama3, eosToken);
        if (template.Contains("<start_of_turn>", StringComparison.Ordinal) && template.Contains("<end_of_turn>", StringComparison.Ordinal))
            return new ChatTemplate(tokenizer, Layout.Gemma, eosToken);
        string excerpt = template.Length <= 200 ? template : template[..200] + "...";
        throw new NotSupportedException($"Chat template not recognized (supported layouts: ChatML, Llama 3, Gemma): {excerpt}");
    }

    /// <summary>Appends the prompt ids of <paramref name="messages"/>; with <paramref name="addGenerationPrompt"/>,
    /// also the header of the assistant's reply, so the model's next token starts that reply. Tools offered to the
    /// model, its calls and their results are laid out in <see cref="HermesToolFormat"/> first: the tools as Qwen 2.5's
    /// template shows them where the template has that format, else in its short generic form.</summary>
    /// <exception cref="ArgumentException">A message has a role other than system, user, assistant or tool.</exception>
    public void Encode(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, List<int> ids, IReadOnlyList<ToolDefinition>? tools = null)
    {
        tools ??= [];
        if (HermesToolFormat.Needed(messages, tools))
            messages = HermesToolFormat.Render(messages, tools, _defaultSystemMessage, _hasHermesTools);
        for (int i = 0; i < messages.Count; i++)
        {
            if (!ChatMessage.IsKnownRole(messages[i].Role))
                throw new ArgumentException($"messages[{i}] has role \"{messages[i].Role}\"; expected system, user, assistant or tool.", nameof(messages));
        }
        if (_layout == Layout.Gemma)
        {
            EncodeGemma(messages, addGenerationPrompt, ids);
            return;
        }
        if (_layout == Layout.Llama3)
            ids.Add(_beginOfText);
        if (_defaultSystemMessage is not null && (messages.Count == 0 || messages[0].Role != ChatMessage.System))
            AddChatMLMessage(ChatMessage.System, _defaultSystemMessage, ids);
        for (int i = 0; i < messages.Count; i++)
        {
            ChatMessage message = messages[i];
            if (_layout == Layout.ChatML)
            {
                AddChatMLMessage(message.Role, message.Content, ids);
            }
            else
            {
                AddLlama3Header(message.Role, ids);
                _tokenizer.Encode(string.Concat("\n\n", message.Content.AsSpan().Trim()), ids);
                ids.Add(_messageEnd);
            }
        }
        if (!addGenerationPrompt)
            return;
        if (_layout == Layout.ChatML)
        {
            ids.Add(_messageStart);
            _tokenizer.Encode("assistant\n", ids);
        }
        else
        {
            AddLlama3Header(ChatMessage.Assistant, ids);
            _tokenizer.Encode("\n\n", ids);
        }
    }

    /// <summary>
    /// Gemma 3's template: <c>bos_token</c>, then each turn as <c>&lt;start_of_turn&gt;{role}\n{content | trim}&lt;end_of_turn&gt;\n</c>
    /// with assistant renamed "model"; a first system message is not a turn but <c>{system}\n\n</c> put before
    /// the first turn's content (untrimmed, as the template concatenates it).
    /// </summary>
    private void EncodeGemma(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, List<int> ids)
    {
        ids.Add(_beginOfText);
        bool hasSystem = messages.Count > 0 && messages[0].Role == ChatMessage.System;
        for (int i = hasSystem ? 1 : 0; i < messages.Count; i++)
        {
            ChatMessage message = messages[i];
            string prefix = hasSystem && i == 1 ? messages[0].Content + "\n\n" : "";
            ids.Add(_messageStart);
            _tokenizer.Encode(string.Concat(GemmaRole(message.Role), "\n", prefix, message.Content.Trim()), ids);
            ids.Add(_messageEnd);
            _tokenizer.Encode("\n", ids);
        }
        if (addGenerationPrompt)
        {
            ids.Add(_messageStart);
            _tokenizer.Encode("model\n", ids);
        }
    }

    private static string GemmaRole(string role) => role == ChatMessage.Assistant ? "model" : role;

    private void AddChatMLMessage(string role, string content, List<int> ids)
    {
        ids.Add(_messageStart);
        _tokenizer.Encode(string.Concat(role, "\n", content), ids);
        ids.Add(_messageEnd);
        _tokenizer.Encode("\n", ids);
    }

    /// <summary>
    /// Qwen's templates open a chat that has no system message with a fixed one:
    /// <c>{% if messages[0]['role'] != 'system' %}{{ '&lt;|im_start|&gt;system\nYou are a helpful assistant.&lt;|im_end|&gt;\n' }}</c>
    /// (Qwen 2.5: an <c>else</c> branch of <c>== 'system'</c>); a whole system message written as one literal is only ever that default.
    /// Returns that message's text (the Jinja string literal unescaped), or null when the template has none.
    /// </summary>
    private static string? FindDefaultSystemMessage(string template)
    {
        Match literal = DefaultSystemLiteral().Match(template);
        if (!literal.Success)
            return null;
        string text = literal.Groups["text"].Value;
        var unescaped = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\\' && i + 1 < text.Length)
            {
                c = text[++i] switch { 'n' => '\n', 't' => '\t', 'r' => '\r', char other => other };
            }
            unescaped.Append(c);
        }
        return unescaped.ToString();
    }

    // '<|im_start|>system\n{text}<|im_end|>\n' as a single-quoted Jinja literal; \n may be escaped or a real newline.
    [GeneratedRegex(@"'<\|im_start\|>system(?:\\n|\n)(?<text>(?:[^'\\]|\\.)*?)<\|im_end\|>(?:\\n|\n)'")]
    private static partial Regex DefaultSystemLiteral();

    private void AddLlama3Header(string role, List<int> ids)
    {
        ids.Add(_messageStart);
        _tokenizer.Encode(role, ids);
        ids.Add(_headerEnd);
    }

    private int ControlToken(string content) =>
        _tokenizer.TryGetSpecialTokenId(content, out int id)
            ? id
            : throw new NotSupportedException($"The {Name} chat template needs the control token {content}, which tokenizer.json's added_tokens lacks.");

    /// <summary>chat_template is a string, or a list of {name, template} of which "default" is the chat one.</summary>
    private static string? ReadTemplate(JsonElement config)
    {
        if (!config.TryGetProperty("chat_template", out JsonElement template))
            return null;
        if (template.ValueKind == JsonValueKind.String)
            return template.GetString();
        if (template.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement named in template.EnumerateArray())
            {
                if (named.ValueKind == JsonValueKind.Object && named.TryGetProperty("name", out JsonElement name) && name.GetString() == "default"
                    && named.TryGetProperty("template", out JsonElement source) && source.ValueKind == JsonValueKind.String)
                    return source.GetString();
            }
        }
        return null;
    }

    /// <summary>A special token setting: a string, or an object whose "content" is the string.</summary>
    private static string? ReadTokenText(JsonElement config, string name) =>
        !config.TryGetProperty(name, out JsonElement token) ? null
        : token.ValueKind == JsonValueKind.String ? token.GetString()
        : token.ValueKind == JsonValueKind.Object && token.TryGetProperty("content", out JsonElement content) ? content.GetString()
        : null;
}

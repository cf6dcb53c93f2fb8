using System.Text.Json;
using System.Text.RegularExpressions;
using ChatCluster.Gateway.Http;
using ChatCluster.Inference;

namespace ChatCluster.Gateway.OpenAi;

/// <summary>
/// Reads what a chat completion asks of its output's shape: <c>tools</c>, <c>tool_choice</c>,
/// <c>parallel_tool_calls</c> and <c>response_format</c>, into the tools shown to the model and the constraint
/// its decoder keeps to. Every schema is compiled here once, so that one the decoder cannot enforce is a 400
/// that names its field and keyword, never a reply that ignored it.
/// </summary>
internal sealed partial class OutputFields
{
    private const int MaxTools = 128;
    private JsonElement? _tools;
    private JsonElement? _toolChoice;
    private bool _parallelToolCalls = true;
    private JsonElement? _responseFormat;

    /// <summary>Reads <paramref name="property"/> if it is one of these fields; false leaves it to the caller.</summary>
    public bool TryRead(JsonProperty property)
    {
        var value = property.Value;
        switch (property.Name)
        {
            case "tools":
                _tools = value.ValueKind == JsonValueKind.Null ? null : value;
                return true;
            case "tool_choice":
                _toolChoice = value.ValueKind == JsonValueKind.Null ? null : value;
                return true;
            case "parallel_tool_calls":
                _parallelToolCalls = value.ValueKind == JsonValueKind.Null || JsonFields.Boolean(value, "parallel_tool_calls");
                return true;
            case "response_format":
                _responseFormat = value.ValueKind == JsonValueKind.Null ? null : value;
                return true;
            default:
                return false;
        }
    }

    /// <summary>The tools to show the model, and the constraint on its reply (null: free text).</summary>
    public (IReadOnlyList<ToolDefinition> Tools, OutputConstraint? Constraint) Build()
    {
        var tools = _tools is { } toolsValue ? ReadTools(toolsValue) : [];
        var format = _responseFormat is { } formatValue ? ReadResponseFormat(formatValue) : null;
        if (_toolChoice is { } given && tools.Count == 0 && !(given.ValueKind == JsonValueKind.String && given.ValueEquals("none")))
        {
            throw JsonFields.Invalid("tool_choice", "only allowed when tools are specified");
        }

        var (mode, allowed) = _toolChoice is { } choice ? ReadToolChoice(choice, tools) : (tools.Count > 0 ? ToolChoiceMode.Auto : (ToolChoiceMode?)null, tools);
        if (mode is not { } toolMode)
        {
            return (tools, format);
        }

        if (format is not null)
        {
            throw JsonFields.Invalid("response_format", "a JSON response_format cannot be combined with tools that may be called; set tool_choice to \"none\" or drop response_format");
        }

        return (tools, new OutputConstraint
        {
            Kind = OutputConstraintKind.ToolCalls,
            Tools = allowed,
            ToolChoice = toolMode,
            ParallelToolCalls = _parallelToolCalls,
        });
    }

    private static List<ToolDefinition> ReadTools(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw JsonFields.WrongType("tools", value, "an array of tools");
        }

        if (value.GetArrayLength() > MaxTools)
        {
            throw JsonFields.Invalid("tools", $"at most {MaxTools} tools are accepted; this request has {value.GetArrayLength()}");
        }

        var tools = new List<ToolDefinition>();
        var index = 0;
        foreach (var tool in value.EnumerateArray())
        {
            var param = $"tools[{index++}]";
            JsonFields.RequireObject(tool, param);
            var type = tool.TryGetProperty("type", out var typeValue) ? JsonFields.String(typeValue, $"{param}.type") : null;
            if (type != "function")
            {
                throw JsonFields.Invalid($"{param}.type", type is null ? "required; expected 'function'" : $"tools of type '{type}' are not supported; only 'function'");
            }

            if (!tool.TryGetProperty("function", out var function))
            {
                throw JsonFields.Invalid($"{param}.function", "required");
            }

            var definition = ReadFunction(function, $"{param}.function");
            if (tools.Any(t => t.Name == definition.Name))
            {
                throw JsonFields.Invalid($"{param}.function.name", $"the name '{definition.Name}' is used by another tool of this request");
            }

            tools.Add(definition);
        }

        return tools;
    }

    private static ToolDefinition ReadFunction(JsonElement function, string param)
    {
        JsonFields.RequireObject(function, param);
        string? name = null;
        string? description = null;
        var parameters = """{"type": "object", "properties": {}}""";
        foreach (var property in function.EnumerateObject())
        {
            var field = $"{param}.{property.Name}";
            switch (property.Name)
            {
                case "name":
                    name = ReadName(property.Value, field);
                    break;
                case "description":
                    description = property.Value.ValueKind == JsonValueKind.Null ? null : JsonFields.String(property.Value, field);
                    break;
                case "parameters":
                    if (property.Value.ValueKind != JsonValueKind.Null)
                    {
                        parameters = SchemaField.Check(property.Value, field);
                    }

                    break;
                case "strict":
                    CheckStrict(property.Value, field);
                    break;
                default:
                    throw JsonFields.Invalid(field, $"unrecognized field '{property.Name}'");
            }
        }

        return new ToolDefinition(name ?? throw JsonFields.Invalid($"{param}.name", "required"), description, parameters);
    }

    /// <summary>none, auto, required, a named function, or allowed_tools (a subset, auto or required).</summary>
    private static (ToolChoiceMode? Mode, IReadOnlyList<ToolDefinition> Allowed) ReadToolChoice(JsonElement value, List<ToolDefinition> tools)
    {
        const string param = "tool_choice";
        if (value.ValueKind == JsonValueKind.String)
        {
            return JsonFields.String(value, param) switch
            {
                "none" => (null, tools),
                "auto" => (ToolChoiceMode.Auto, tools),
                "required" => (ToolChoiceMode.Required, tools),
                var other => throw JsonFields.Invalid(param, $"unknown value '{other}'; expected none, auto, required or an object naming a function"),
            };
        }

        JsonFields.RequireObject(value, param);
        var type = value.TryGetProperty("type", out var typeValue) ? JsonFields.String(typeValue, $"{param}.type") : null;
        switch (type)
        {
            case "function":
                return (ToolChoiceMode.Required, [Named(value, param, tools)]);
            case "allowed_tools":
                if (!value.TryGetProperty("allowed_tools", out var allowed))
                {
                    throw JsonFields.Invalid($"{param}.allowed_tools", "required");
                }

                JsonFields.RequireObject(allowed, $"{param}.allowed_tools");
                var mode = allowed.TryGetProperty("mode", out var modeValue) ? JsonFields.String(modeValue, $"{param}.allowed_tools.mode") : null;
                var toolMode = mode switch
                {
                    "auto" => ToolChoiceMode.Auto,
                    "required" => ToolChoiceMode.Required,
                    _ => throw JsonFields.Invalid($"{param}.allowed_tools.mode", "required; expected 'auto' or 'required'"),
                };
                if (!allowed.TryGetProperty("tools", out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
                {
                    throw JsonFields.Invalid($"{param}.allowed_tools.tools", "required; expected a non-empty array of {\"type\": \"function\", \"function\": {\"name\": ...}}");
                }

                var subset = new List<ToolDefinition>();
                var index = 0;
                foreach (var item in list.EnumerateArray())
                {
                    var named = Named(item, $"{param}.allowed_tools.tools[{index++}]", tools);
                    if (!subset.Contains(named))
                    {
                        subset.Add(named);
                    }
                }

                return (toolMode, subset);
            default:
                throw JsonFields.Invalid($"{param}.type", "expected 'function' or 'allowed_tools'");
        }
    }

    /// <summary>{"type": "function", "function": {"name": ...}} (or the newer {"type": "function", "name": ...}).</summary>
    private static ToolDefinition Named(JsonElement value, string param, List<ToolDefinition> tools)
    {
        JsonFields.RequireObject(value, param);
        var holder = value.TryGetProperty("function", out var function) ? function : value;
        var field = holder.ValueKind == JsonValueKind.Object && holder.TryGetProperty("name", out var nameValue)
            ? JsonFields.String(nameValue, $"{param}.function.name")
            : throw JsonFields.Invalid($"{param}.function.name", "required");
        return tools.FirstOrDefault(t => t.Name == field)
            ?? throw JsonFields.Invalid($"{param}.function.name", $"no tool named '{field}' is in tools");
    }

    private static OutputConstraint? ReadResponseFormat(JsonElement value)
    {
        const string param = "response_format";
        JsonFields.RequireObject(value, param);
        var type = value.TryGetProperty("type", out var typeValue) ? JsonFields.String(typeValue, $"{param}.type") : null;
        switch (type)
        {
            case "text":
                return null;
            case "json_object":
                return new OutputConstraint { Kind = OutputConstraintKind.JsonObject };
            case "json_schema":
                if (!value.TryGetProperty("json_schema", out var jsonSchema))
                {
                    throw JsonFields.Invalid($"{param}.json_schema", "required");
                }

                JsonFields.RequireObject(jsonSchema, $"{param}.json_schema");
                string? schema = null;
                var hasName = false;
                foreach (var property in jsonSchema.EnumerateObject())
                {
                    var field = $"{param}.json_schema.{property.Name}";
                    switch (property.Name)
                    {
                        case "name":
                            ReadName(property.Value, field);
                            hasName = true;
                            break;
                        case "description":
                            JsonFields.String(property.Value, field);
                            break;
                        case "schema":
                            schema = SchemaField.Check(property.Value, field);
                            break;
                        case "strict":
                            CheckStrict(property.Value, field);
                            break;
                        default:
                            throw JsonFields.Invalid(field, $"unrecognized field '{property.Name}'");
                    }
                }

                if (!hasName)
                {
                    throw JsonFields.Invalid($"{param}.json_schema.name", "required");
                }

                // No schema: any JSON object, as OpenAI does.
                return schema is null
                    ? new OutputConstraint { Kind = OutputConstraintKind.JsonObject }
                    : new OutputConstraint { Kind = OutputConstraintKind.JsonSchema, Schema = schema };
            default:
                throw JsonFields.Invalid($"{param}.type", type is null ? "required; expected text, json_object or json_schema" : $"unknown type '{type}'; expected text, json_object or json_schema");
        }
    }

    /// <summary>
    /// <c>strict</c> is type-checked and otherwise changes nothing: a schema is enforced strict or not, since the
    /// decoder cannot half-keep one.
    /// </summary>
    private static void CheckStrict(JsonElement value, string param)
    {
        if (value.ValueKind != JsonValueKind.Null)
        {
            JsonFields.Boolean(value, param);
        }
    }

    private static string ReadName(JsonElement value, string param)
    {
        var name = JsonFields.String(value, param);
        return FunctionName().IsMatch(name)
            ? name
            : throw JsonFields.Invalid(param, $"'{name}' is not a valid name: expected 1 to 64 letters, digits, underscores or dashes");
    }

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,64}$")]
    private static partial Regex FunctionName();
}

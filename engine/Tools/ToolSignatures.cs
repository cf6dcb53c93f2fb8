using System.Text;
using System.Text.Json;

namespace ChatCluster.Inference.Tools;

/// <summary>
/// The generic way tools are shown to a model whose template has no tool format: one line per tool, as a
/// signature (<c>get_weather(city: string, days?: integer) - Weather now</c>), then how to call one. About a
/// tenth of the tokens of the tools' JSON schemas; what the arguments must be exactly is the grammar's to enforce.
/// </summary>
public static class ToolSignatures
{
    private const int MaxDepth = 3;

    public static string Block(IReadOnlyList<ToolDefinition> tools)
    {
        var text = new StringBuilder("Tools:");
        foreach (var tool in tools)
        {
            using var schema = JsonDocument.Parse(tool.ParametersSchema);
            text.Append('\n').Append(tool.Name).Append('(');
            AppendProperties(schema.RootElement, text, 0);
            text.Append(')');
            if (!string.IsNullOrWhiteSpace(tool.Description))
            {
                text.Append(" - ").Append(tool.Description.ReplaceLineEndings(" ").Trim());
            }
        }

        // The call's shape, as short as it can be said: a small model's window is small, and the grammar holds any
        // model to the exact format once it starts a call.
        return text.Append("\nCall with:\n").Append(HermesToolFormat.CallStart[..^1])
            .Append("<name>").Append(HermesToolFormat.ArgumentsStart[1..]).Append("<arguments>").Append(HermesToolFormat.CallEnd).ToString();
    }

    /// <summary><c>name: type</c> per property, <c>?</c> after the optional ones.</summary>
    private static void AppendProperties(JsonElement schema, StringBuilder text, int depth)
    {
        if (schema.ValueKind != JsonValueKind.Object || !schema.TryGetProperty("properties", out var properties) || properties.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        var required = schema.TryGetProperty("required", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Select(r => r.GetString()).ToHashSet()
            : [];
        var first = true;
        foreach (var property in properties.EnumerateObject())
        {
            text.Append(first ? "" : ", ").Append(property.Name).Append(required.Contains(property.Name) ? ": " : "?: ");
            AppendType(property.Value, text, depth + 1);
            first = false;
        }
    }

    private static void AppendType(JsonElement schema, StringBuilder text, int depth)
    {
        if (schema.ValueKind != JsonValueKind.Object || depth > MaxDepth)
        {
            text.Append("any");
            return;
        }

        if (schema.TryGetProperty("enum", out var values) && values.ValueKind == JsonValueKind.Array)
        {
            text.AppendJoin('|', values.EnumerateArray().Select(v => v.GetRawText()));
        }
        else if (schema.TryGetProperty("const", out var constant))
        {
            text.Append(constant.GetRawText());
        }
        else if (schema.TryGetProperty("anyOf", out var options) && options.ValueKind == JsonValueKind.Array)
        {
            var first = true;
            foreach (var option in options.EnumerateArray())
            {
                text.Append(first ? "" : "|");
                AppendType(option, text, depth + 1);
                first = false;
            }
        }
        else if (schema.TryGetProperty("$ref", out var reference) && reference.ValueKind == JsonValueKind.String)
        {
            text.Append(reference.GetString()![(reference.GetString()!.LastIndexOf('/') + 1)..]);
        }
        else if (schema.TryGetProperty("type", out var type))
        {
            var names = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()).ToList() : [type.GetString()];
            var first = true;
            foreach (var name in names)
            {
                text.Append(first ? "" : "|");
                first = false;
                switch (name)
                {
                    case "array":
                        if (schema.TryGetProperty("items", out var items))
                        {
                            AppendType(items, text, depth + 1);
                        }
                        else
                        {
                            text.Append("any");
                        }

                        text.Append("[]");
                        break;
                    case "object" when schema.TryGetProperty("properties", out _):
                        text.Append('{');
                        AppendProperties(schema, text, depth);
                        text.Append('}');
                        break;
                    default:
                        text.Append(name);
                        break;
                }
            }
        }
        else
        {
            text.Append("any");
        }
    }
}

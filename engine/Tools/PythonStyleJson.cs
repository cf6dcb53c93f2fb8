using System.Text;
using System.Text.Json;

namespace ChatCluster.Inference.Tools;

/// <summary>
/// Writes JSON the way Hugging Face chat templates' <c>tojson</c> filter does (Python's
/// <c>json.dumps(x, ensure_ascii=False)</c>): ", " between items, ": " after keys, keys in their given order,
/// non-ASCII characters as they are. Tool definitions and call arguments are rendered into prompts this way, so
/// the model sees the text its template would give it, and the grammars write JSON (keys, enum and const values)
/// the same way.
/// </summary>
public static class PythonStyleJson
{
    public static string Write(JsonElement value)
    {
        var text = new StringBuilder();
        Append(value, text);
        return text.ToString();
    }

    public static string Write(string json)
    {
        using var document = JsonDocument.Parse(json);
        return Write(document.RootElement);
    }

    public static void Append(JsonElement value, StringBuilder text)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                text.Append('{');
                var firstProperty = true;
                foreach (var property in value.EnumerateObject())
                {
                    text.Append(firstProperty ? "" : ", ");
                    firstProperty = false;
                    AppendString(property.Name, text);
                    text.Append(": ");
                    Append(property.Value, text);
                }

                text.Append('}');
                break;
            case JsonValueKind.Array:
                text.Append('[');
                var firstItem = true;
                foreach (var item in value.EnumerateArray())
                {
                    text.Append(firstItem ? "" : ", ");
                    firstItem = false;
                    Append(item, text);
                }

                text.Append(']');
                break;
            case JsonValueKind.String:
                AppendString(value.GetString()!, text);
                break;
            default:
                // Numbers keep their written form; true, false and null are the same words in both.
                text.Append(value.GetRawText());
                break;
        }
    }

    /// <summary>A string as JSON text, quoted.</summary>
    public static string Quote(string value)
    {
        var text = new StringBuilder(value.Length + 2);
        AppendString(value, text);
        return text.ToString();
    }

    /// <summary>A string's JSON escape without the quotes: '"', '\' and control characters escaped, nothing else.</summary>
    public static string Escape(string value)
    {
        var quoted = Quote(value);
        return quoted[1..^1];
    }

    public static void AppendString(string value, StringBuilder text)
    {
        text.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                case '\b': text.Append("\\b"); break;
                case '\f': text.Append("\\f"); break;
                case < ' ': text.Append("\\u").Append(((int)c).ToString("x4")); break;
                default: text.Append(c); break;
            }
        }

        text.Append('"');
    }
}

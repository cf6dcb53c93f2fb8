using System.Text;
using System.Text.Json;

namespace ChatCluster.Inference.Structured;

/// <summary>A JSON value (an enum or const value) written as the grammars write JSON: ", " and ": ", no other space.</summary>
internal static class JsonValueText
{
    public static string Write(JsonElement value)
    {
        var builder = new StringBuilder();
        Write(value, builder);
        return builder.ToString();
    }

    private static void Write(JsonElement value, StringBuilder builder)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                builder.Append('{');
                var firstMember = true;
                foreach (var member in value.EnumerateObject())
                {
                    builder.Append(firstMember ? "" : ", ").Append(JsonText.Quote(member.Name)).Append(": ");
                    Write(member.Value, builder);
                    firstMember = false;
                }

                builder.Append('}');
                break;
            case JsonValueKind.Array:
                builder.Append('[');
                var firstItem = true;
                foreach (var item in value.EnumerateArray())
                {
                    builder.Append(firstItem ? "" : ", ");
                    Write(item, builder);
                    firstItem = false;
                }

                builder.Append(']');
                break;
            case JsonValueKind.String:
                builder.Append(JsonText.Quote(value.GetString()!));
                break;
            default:
                // Numbers, true, false and null as written in the schema.
                builder.Append(value.GetRawText());
                break;
        }
    }
}

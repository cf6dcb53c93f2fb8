using System.Text.Json;
using ChatCluster.Gateway.Http;
using ChatCluster.Inference.Structured;

namespace ChatCluster.Gateway.OpenAi;

/// <summary>
/// A JSON Schema in a request (a tool's parameters, response_format's schema): compiled once here, so that a
/// malformed schema, or a keyword the decoder cannot enforce, is a 400 naming the field and the keyword.
/// </summary>
internal static class SchemaField
{
    /// <summary>Returns the schema's JSON text.</summary>
    public static string Check(JsonElement value, string param)
    {
        JsonFields.RequireObject(value, param);
        var schema = value.GetRawText();
        try
        {
            Grammar.FromJsonSchema(schema);
        }
        catch (SchemaNotSupportedException e)
        {
            throw JsonFields.Invalid(param, $"keyword '{e.Keyword}' at '{PointerOrRoot(e.Path)}' is not supported by this server's constrained decoder");
        }
        catch (InvalidSchemaException e)
        {
            throw JsonFields.Invalid(param, $"invalid JSON Schema at '{PointerOrRoot(e.Path)}': {e.Message}");
        }

        return schema;
    }

    private static string PointerOrRoot(string? path) => string.IsNullOrEmpty(path) ? "#" : path;
}

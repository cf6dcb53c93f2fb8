namespace ChatCluster.Inference.Structured;

/// <summary>A JSON Schema uses a keyword (or a form of one) that constrained decoding does not support.</summary>
public sealed class SchemaNotSupportedException(string keyword, string path, string? detail = null)
    : ArgumentException($"JSON Schema keyword '{keyword}' at {(path.Length == 0 ? "/" : path)} is not supported{(detail is null ? "." : $": {detail}")}")
{
    public string Keyword { get; } = keyword;

    /// <summary>JSON pointer to the schema object holding the keyword ("" is the root).</summary>
    public string Path { get; } = path;
}

/// <summary>A JSON Schema that is not JSON, has a keyword value of the wrong type, or a $ref that points nowhere.</summary>
public sealed class InvalidSchemaException(string path, string message)
    : ArgumentException($"Invalid JSON Schema at {(path.Length == 0 ? "/" : path)}: {message}")
{
    /// <summary>JSON pointer to where the schema is wrong ("" is the root).</summary>
    public string Path { get; } = path;
}

namespace ChatCluster.Inference.Structured;

/// <summary>
/// A JSON Schema uses a keyword (or a form of one) that constrained decoding does not support. Keyword and path
/// live in <see cref="Exception.Data"/> too, which Orleans carries when a grain on another silo throws it.
/// </summary>
public sealed class SchemaNotSupportedException : ArgumentException
{
    public SchemaNotSupportedException(string keyword, string path, string? detail = null)
        : base($"JSON Schema keyword '{keyword}' at {(path.Length == 0 ? "/" : path)} is not supported{(detail is null ? "." : $": {detail}")}")
    {
        Data[nameof(Keyword)] = keyword;
        Data[nameof(Path)] = path;
    }

    public string Keyword => Data[nameof(Keyword)] as string ?? "";

    /// <summary>JSON pointer to the schema object holding the keyword ("" is the root).</summary>
    public string Path => Data[nameof(Path)] as string ?? "";
}

/// <summary>A JSON Schema that is not JSON, has a keyword value of the wrong type, or a $ref that points nowhere.</summary>
public sealed class InvalidSchemaException : ArgumentException
{
    public InvalidSchemaException(string path, string message)
        : base($"Invalid JSON Schema at {(path.Length == 0 ? "/" : path)}: {message}")
    {
        Data[nameof(Path)] = path;
    }

    /// <summary>JSON pointer to where the schema is wrong ("" is the root).</summary>
    public string Path => Data[nameof(Path)] as string ?? "";
}

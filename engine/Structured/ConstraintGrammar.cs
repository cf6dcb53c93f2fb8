using ChatCluster.Inference.Tools;

namespace ChatCluster.Inference.Structured;

/// <summary>The one place an <see cref="OutputConstraint"/> becomes a grammar (and the trigger it starts after).</summary>
public static class ConstraintGrammar
{
    /// <summary>
    /// The grammar of a constraint, and the text after which it applies (null: from the first token).
    /// Cheap enough for a gateway to call to validate a request.
    /// </summary>
    /// <exception cref="SchemaNotSupportedException">A schema uses an unsupported keyword.</exception>
    /// <exception cref="InvalidSchemaException">A schema is malformed.</exception>
    public static (Grammar Grammar, string? Trigger) For(OutputConstraint constraint) => constraint.Kind switch
    {
        OutputConstraintKind.JsonObject => (Grammar.AnyJsonObject, null),
        OutputConstraintKind.JsonSchema => (Grammar.FromJsonSchema(constraint.Schema ?? throw new InvalidSchemaException("", "a json_schema constraint needs a schema.")), null),
        OutputConstraintKind.ToolCalls => ToolCallGrammar.For(constraint),
        _ => throw new ArgumentOutOfRangeException(nameof(constraint), constraint.Kind, "Unknown output constraint kind."),
    };
}

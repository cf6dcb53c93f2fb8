namespace ChatCluster.Inference;

/// <summary>What shape a reply must take (response_format, tools); null in <see cref="SamplingParameters.Constraint"/> = free text.</summary>
public enum OutputConstraintKind
{
    /// <summary>Any JSON object (response_format json_object).</summary>
    JsonObject,

    /// <summary>JSON valid against <see cref="OutputConstraint.Schema"/> (response_format json_schema, strict or not).</summary>
    JsonSchema,

    /// <summary>Calls of <see cref="OutputConstraint.Tools"/>.</summary>
    ToolCalls,
}

/// <summary>How tool calls are asked for.</summary>
public enum ToolChoiceMode
{
    /// <summary>The model may answer in text or call tools.</summary>
    Auto,

    /// <summary>The model must call at least one tool.</summary>
    Required,
}

/// <summary>A function the model may call: its name and the JSON Schema of its arguments.</summary>
public sealed record ToolDefinition(string Name, string? Description, string ParametersSchema);

/// <summary>
/// A constraint on a request's output, enforced by masking each step's logits to what a grammar allows. Plain
/// data (it crosses silos as System.Text.Json); the engine compiles it once per distinct value and caches it.
/// </summary>
public sealed record OutputConstraint
{
    public OutputConstraintKind Kind { get; init; }

    /// <summary>JSON Schema text, for <see cref="OutputConstraintKind.JsonSchema"/>.</summary>
    public string? Schema { get; init; }

    /// <summary>For <see cref="OutputConstraintKind.ToolCalls"/>.</summary>
    public IReadOnlyList<ToolDefinition> Tools { get; init; } = [];

    public ToolChoiceMode ToolChoice { get; init; }

    public bool ParallelToolCalls { get; init; } = true;
}

namespace ChatCluster.Inference;

public enum OutputConstraintKind { JsonObject, JsonSchema, ToolCalls }

public sealed record OutputConstraint
{
    public OutputConstraintKind Kind { get; init; }

    public string? Schema { get; init; }

    public IReadOnlyList<ToolDefinition> Tools { get; init; } = [];

    public ToolChoiceMode ToolChoice { get; init; }

    public bool ParallelToolCalls { get; init; } = true;
}

public sealed record ToolDefinition(string Name, string? Description, string ParametersSchema);

public enum ToolChoiceMode { Auto, Required }

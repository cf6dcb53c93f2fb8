using ChatCluster.Inference;

namespace ChatCluster.Grains;

/// <summary>
/// What one conversation turn brings: the new messages (the user's message, or the results of the last reply's
/// tool calls, one tool message each), the tools the model may see this turn, and how it samples (null: the conversation's
/// defaults), with the output's constraint (tool calls, a JSON schema), which applies to this turn only.
/// </summary>
[GenerateSerializer, Immutable, Alias("chatcluster.turn-input")]
public sealed record TurnInput(
    [property: Id(0)] IReadOnlyList<ChatMessage> Messages,
    [property: Id(1)] IReadOnlyList<ToolDefinition> Tools,
    [property: Id(2)] SamplingParameters? Sampling,
    [property: Id(3)] OutputConstraint? Constraint);

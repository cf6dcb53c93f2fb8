using ChatCluster.Inference;

namespace ChatCluster.Gateway.Conversations;

/// <summary>
/// A validated POST /v1/conversations/{id}/messages body. <see cref="Sampling"/> is null when the body names
/// no sampling field (the conversation's defaults apply); otherwise it replaces those defaults as a whole.
/// </summary>
/// <param name="Messages">The user's message, or tool results (tool messages) answering the last reply's calls.</param>
/// <param name="Tools">Functions the model sees this turn.</param>
/// <param name="Constraint">Tool calls or a JSON schema the reply keeps to (this turn only).</param>
public sealed record SendMessageRequest(
    IReadOnlyList<ChatMessage> Messages, bool Stream, SamplingParameters? Sampling, IReadOnlyList<ToolDefinition> Tools, OutputConstraint? Constraint);

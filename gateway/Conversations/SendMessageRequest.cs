using ChatCluster.Inference;

namespace ChatCluster.Gateway.Conversations;

/// <summary>
/// A validated POST /v1/conversations/{id}/messages body. <see cref="Sampling"/> is null when the body names
/// no sampling field (the conversation's defaults apply); otherwise it replaces those defaults as a whole.
/// </summary>
public sealed record SendMessageRequest(string Content, bool Stream, SamplingParameters? Sampling);

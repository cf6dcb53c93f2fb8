using ChatCluster.Inference;

namespace ChatCluster.Gateway.Conversations;

/// <summary>A validated POST /v1/conversations body: an optional system prompt and default sampling.</summary>
public sealed record CreateConversationRequest(string? SystemPrompt, SamplingParameters? Defaults);

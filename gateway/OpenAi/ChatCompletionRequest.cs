using ChatCluster.Inference;

namespace ChatCluster.Gateway.OpenAi;

/// <summary>A validated POST /v1/chat/completions body.</summary>
/// <param name="Choices">OpenAI's <c>n</c>: independent generations of the same prompt.</param>
/// <param name="Tools">Functions shown to the model; whether it may call them is in the sampling's constraint.</param>
/// <param name="IncludeUsage"><c>stream_options.include_usage</c>: a last chunk with the usage counts.</param>
public sealed record ChatCompletionRequest(
    string Model,
    IReadOnlyList<ChatMessage> Messages,
    IReadOnlyList<ToolDefinition> Tools,
    SamplingParameters Sampling,
    int Choices,
    bool Stream,
    bool IncludeUsage);

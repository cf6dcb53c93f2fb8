namespace ChatCluster.Grains;

/// <summary>The caller asked for something invalid; the API answers 400 with <see cref="Param"/> named.</summary>
public class InvalidRequestException(string message, string? param = null) : Exception(message)
{
    public string? Param { get; } = param;
}

/// <summary>The prompt does not fit the model's context window.</summary>
public sealed class PromptTooLongException(int promptTokens, int contextWindow)
    : InvalidRequestException(
        $"The prompt is {promptTokens} tokens long; the model's context window is {contextWindow} tokens.",
        "messages")
{
    public int PromptTokens { get; } = promptTokens;

    public int ContextWindow { get; } = contextWindow;
}

/// <summary>The request queue is full; the API answers 429 and the caller should retry later.</summary>
public sealed class OverloadedException(string message) : Exception(message);

/// <summary>A conversation (or other named thing) does not exist, or is not visible to this caller: 404.</summary>
public sealed class NotFoundException(string message) : Exception(message);

namespace ChatCluster.Inference;

/// <summary>
/// The caller asked for something invalid; the API answers 400 with <see cref="Param"/> named.
/// What an error carries beyond its message lives in <see cref="Exception.Data"/>, which Orleans carries with
/// the exception when a grain on another silo throws it.
/// </summary>
public class InvalidRequestException : Exception
{
    private const string ParamKey = "param";

    public InvalidRequestException(string message, string? param = null)
        : base(message)
    {
        if (param is not null)
        {
            Data[ParamKey] = param;
        }
    }

    public string? Param => Data[ParamKey] as string;
}

/// <summary>The prompt does not fit the model's context window.</summary>
public sealed class PromptTooLongException : InvalidRequestException
{
    private const string PromptTokensKey = "prompt_tokens";
    private const string ContextWindowKey = "context_window";

    public PromptTooLongException(int promptTokens, int contextWindow)
        : base($"The prompt is {promptTokens} tokens long; the model's context window is {contextWindow} tokens.", "messages")
    {
        Data[PromptTokensKey] = promptTokens;
        Data[ContextWindowKey] = contextWindow;
    }

    public int PromptTokens => Data[PromptTokensKey] as int? ?? 0;

    public int ContextWindow => Data[ContextWindowKey] as int? ?? 0;
}

/// <summary>The request queue is full; the API answers 429 and the caller should retry later.</summary>
public sealed class OverloadedException(string message) : Exception(message);

/// <summary>A conversation (or other named thing) does not exist, or is not visible to this caller: 404.</summary>
public sealed class NotFoundException(string message) : Exception(message);

namespace ChatCluster.Inference;

/// <summary>Why a sequence ended, in OpenAI's terms where they exist.</summary>
public enum FinishReason
{
    /// <summary>The model emitted its end token, or a stop string matched.</summary>
    Stop,

    /// <summary>max_tokens was reached, or the context window is full.</summary>
    Length,

    /// <summary>The caller went away or cancelled.</summary>
    Cancelled,

    /// <summary>The model called one or more tools and waits for their results (last: values travel as numbers).</summary>
    ToolCalls,
}

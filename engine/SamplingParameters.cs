namespace ChatCluster.Inference;

/// <summary>
/// How one request picks its tokens. Each sequence in a batch keeps its own. Temperature 0 is greedy;
/// <see cref="BeamWidth"/> above 1 runs beam search (deterministic; temperature, top-k and top-p do not apply).
/// </summary>
public sealed record SamplingParameters
{
    /// <summary>0 = greedy (argmax); otherwise logits are divided by it. Range [0, 2].</summary>
    public float Temperature { get; init; } = 1.0f;

    /// <summary>Nucleus sampling: keep the smallest set of tokens whose probability reaches this. Range (0, 1].</summary>
    public float TopP { get; init; } = 1.0f;

    /// <summary>Keep only the k most likely tokens; 0 turns it off.</summary>
    public int TopK { get; init; }

    /// <summary>CTRL-style penalty on tokens already in the prompt or the reply; 1 turns it off. Range (0, 2].</summary>
    public float RepetitionPenalty { get; init; } = 1.0f;

    /// <summary>Makes sampling reproducible: the same request with the same seed gives the same text.</summary>
    public long? Seed { get; init; }

    /// <summary>Most tokens to generate; null means up to the model's context window.</summary>
    public int? MaxTokens { get; init; }

    /// <summary>Generation stops when the decoded text contains one of these; the stop string is not returned.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>
    /// Added to the logits of these token ids before anything else (OpenAI's logit_bias, -100 to 100): -100
    /// bans a token, 100 all but forces it.
    /// </summary>
    public IReadOnlyDictionary<int, float> LogitBias { get; init; } = new Dictionary<int, float>();

    /// <summary>Beam search with this many beams; 1 = off.</summary>
    public int BeamWidth { get; init; } = 1;

    /// <summary>The shape the output must take (JSON, a schema, tool calls); null = free text.</summary>
    public OutputConstraint? Constraint { get; init; }

    public static SamplingParameters Greedy { get; } = new() { Temperature = 0 };
}

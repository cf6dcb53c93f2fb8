
namespace ChatCluster.Inference.Sampling;

/// <summary>
/// The ranges the engine accepts, checked once per request; messages name the API's parameter. The gateway's
/// JSON parser uses the same constants, so a range is stated once.
/// </summary>
public static class SamplingLimits
{
    public const float MaxTemperature = 2;
    public const float MaxRepetitionPenalty = 2;
    public const int MaxBeamWidth = 8;
    public const int MaxStopStrings = 4;
    public const float MaxLogitBias = 100;

    /// <summary>Checks the ranges; token ids in logit_bias are checked against <paramref name="vocabSize"/>.</summary>
    public static void Validate(SamplingParameters p, int vocabSize)
    {
        Check(float.IsFinite(p.Temperature) && p.Temperature is >= 0 and <= MaxTemperature, "temperature", $"temperature must be between 0 and {MaxTemperature}; got {p.Temperature}.");
        Check(float.IsFinite(p.TopP) && p.TopP is > 0 and <= 1, "top_p", $"top_p must be greater than 0 and at most 1; got {p.TopP}.");
        Check(p.TopK >= 0, "top_k", $"top_k must be 0 (off) or positive; got {p.TopK}.");
        Check(float.IsFinite(p.RepetitionPenalty) && p.RepetitionPenalty is > 0 and <= MaxRepetitionPenalty, "repetition_penalty", $"repetition_penalty must be greater than 0 and at most {MaxRepetitionPenalty}; got {p.RepetitionPenalty}.");
        Check(p.MaxTokens is null or >= 1, "max_tokens", $"max_tokens must be at least 1; got {p.MaxTokens}.");
        Check(p.BeamWidth is >= 1 and <= MaxBeamWidth, "beam_width", $"beam_width must be between 1 and {MaxBeamWidth}; got {p.BeamWidth}.");
        Check(p.Stop.Count <= MaxStopStrings, "stop", $"stop takes at most {MaxStopStrings} strings; got {p.Stop.Count}.");
        foreach (var (id, bias) in p.LogitBias)
        {
            Check(id >= 0 && id < vocabSize, "logit_bias", $"logit_bias names token {id}; the model's tokens are 0 to {vocabSize - 1}.");
            Check(float.IsFinite(bias) && Math.Abs(bias) <= MaxLogitBias, "logit_bias", $"logit_bias values must be between -{MaxLogitBias} and {MaxLogitBias}; got {bias} for token {id}.");
        }

        Check(p.LogitBias.Count == 0 || p.BeamWidth == 1, "logit_bias", "logit_bias cannot be combined with beam_width above 1.");
        foreach (var stop in p.Stop)
        {
            Check(!string.IsNullOrEmpty(stop), "stop", "stop strings must not be empty.");
        }
    }

    private static void Check(bool ok, string param, string message)
    {
        if (!ok)
        {
            throw new InvalidRequestException(message, param);
        }
    }
}

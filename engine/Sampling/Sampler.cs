using System.Numerics.Tensors;
using ChatCluster.Inference.Structured;

namespace ChatCluster.Inference.Sampling;

/// <summary>
/// Picks one sequence's next token from its logits: logit bias, the output constraint's mask, repetition penalty,
/// then greedy (temperature 0) or temperature, top-k and top-p sampling. Each sequence owns one; its scratch buffers are sized to the
/// vocabulary once, so picking a token allocates nothing. A seed makes the draws reproducible.
/// </summary>
internal sealed class Sampler
{
    private readonly SamplingParameters _parameters;
    private readonly Random _random;
    private readonly bool[] _seen;
    private readonly List<int> _seenIds = [];
    private readonly float[] _keys;
    private readonly int[] _candidates;
    private readonly int[] _biasIds;
    private readonly float[] _biases;

    public Sampler(SamplingParameters parameters, int vocabSize)
    {
        _parameters = parameters;
        _random = parameters.Seed is { } seed ? new Random(unchecked((int)seed ^ (int)(seed >> 32))) : new Random();
        _seen = new bool[vocabSize];
        var sampling = parameters.Temperature > 0;
        _biasIds = [.. parameters.LogitBias.Keys];
        _biases = [.. _biasIds.Select(id => parameters.LogitBias[id])];
        _keys = sampling ? new float[vocabSize] : [];
        _candidates = sampling ? new int[vocabSize] : [];
    }

    /// <summary>Records a token of the prompt or the reply, for the repetition penalty.</summary>
    public void Observe(int token)
    {
        if ((uint)token < (uint)_seen.Length && !_seen[token])
        {
            _seen[token] = true;
            _seenIds.Add(token);
        }
    }

    /// <summary>Picks the next token. <paramref name="logits"/> (one row, vocab wide) is used as scratch.</summary>
    /// <param name="constraint">The row's output constraint: tokens it does not allow are never picked.</param>
    /// <param name="tokensLeft">Tokens the row may still generate, this one included (the constraint closes in time).</param>
    public int Next(Span<float> logits, RowConstraint? constraint = null, int tokensLeft = int.MaxValue)
    {
        for (var i = 0; i < _biasIds.Length; i++)
        {
            logits[_biasIds[i]] += _biases[i];
        }

        // Masked before the penalty and the temperature: they rescale logits, and -infinity stays -infinity.
        constraint?.MaskLogits(logits, tokensLeft);

        ApplyRepetitionPenalty(logits);
        if (_parameters.Temperature <= 0)
        {
            return TensorPrimitives.IndexOfMax(logits);
        }

        TensorPrimitives.Multiply(logits, 1f / _parameters.Temperature, logits);
        var count = SelectCandidates(logits);
        return Draw(count);
    }

    private void ApplyRepetitionPenalty(Span<float> logits)
    {
        var penalty = _parameters.RepetitionPenalty;
        if (penalty == 1f)
        {
            return;
        }

        // CTRL (Keskar et al. 2019): make seen tokens less likely whatever the sign of their logit.
        foreach (var id in _seenIds)
        {
            ref var logit = ref logits[id];
            logit = logit > 0 ? logit / penalty : logit * penalty;
        }
    }

    /// <summary>
    /// Leaves the kept tokens in _candidates[..count] with their probabilities in _keys[..count], most likely first
    /// when top-k or top-p needs an order.
    /// </summary>
    private int SelectCandidates(ReadOnlySpan<float> logits)
    {
        var vocab = logits.Length;
        var topK = _parameters.TopK;
        var topP = _parameters.TopP;
        var count = vocab;
        for (var i = 0; i < vocab; i++)
        {
            _candidates[i] = i;
        }

        var keys = _keys.AsSpan(0, vocab);
        if (topK > 0 && topK < vocab || topP < 1f)
        {
            // Descending order by sorting negated logits; ties keep a deterministic order for a given input.
            TensorPrimitives.Negate(logits, keys);
            keys.Sort(_candidates.AsSpan(0, vocab));
            TensorPrimitives.Negate(keys, keys);
            if (topK > 0 && topK < vocab)
            {
                count = topK;
            }
        }
        else
        {
            logits.CopyTo(keys);
        }

        // Shift by the largest logit first: softmax is unchanged, and exp cannot overflow (logits over ~88 would,
        // e.g. at low temperatures or with a logit bias, and turn every probability into NaN).
        var kept = keys[..count];
        TensorPrimitives.Subtract(kept, TensorPrimitives.Max(kept), kept);
        TensorPrimitives.SoftMax(kept, kept);
        if (topP < 1f)
        {
            // Smallest prefix whose mass reaches top_p (at least one token).
            var mass = 0f;
            var n = 0;
            while (n < count)
            {
                mass += kept[n++];
                if (mass >= topP)
                {
                    break;
                }
            }

            count = n;
            kept = keys[..count];
            TensorPrimitives.Divide(kept, mass, kept);
        }

        return count;
    }

    private int Draw(int count)
    {
        var u = (float)_random.NextDouble();
        var cumulative = 0f;
        for (var i = 0; i < count; i++)
        {
            cumulative += _keys[i];
            if (u < cumulative)
            {
                return _candidates[i];
            }
        }

        // Rounding left u above the total: the last kept token.
        return _candidates[count - 1];
    }
}

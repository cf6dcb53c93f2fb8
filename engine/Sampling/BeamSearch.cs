using System.Numerics.Tensors;

namespace ChatCluster.Inference.Sampling;

/// <summary>
/// Beam search over k rows of one request: each step keeps the k most likely continuations (by total log
/// probability, no length normalisation, so the result is the most likely sequence the beam found). A
/// continuation that picks an end token is set aside as a finished hypothesis. The search ends when k
/// hypotheses are finished and no running beam can beat the worst of them (running scores only fall), or at
/// the token limit.
/// Plain beam search can prune the greedy path and end below it. Here the greedy lineage (beam 0's argmax
/// continuation, step after step) is never pruned: if it would fall out, it takes the k-th place. So the result
/// is always at least as likely as greedy decoding's, at no extra cost.
/// </summary>
internal sealed class BeamSearch
{
    private readonly int _width;
    private readonly HashSet<int> _endTokens;
    private readonly int _maxTokens;
    private readonly float[] _logProbs;
    private readonly (double Score, int Beam, int Token)[] _candidates;
    private readonly List<(double Score, List<int> Tokens)> _finished = [];
    private List<int>[] _beams;
    private double[] _scores;
    private int _steps;
    private int _greedyBeam;

    public BeamSearch(int width, IReadOnlyList<int> endTokens, int vocabSize, int maxTokens)
    {
        _width = width;
        _endTokens = [.. endTokens];
        _maxTokens = maxTokens;
        _logProbs = new float[vocabSize];
        _candidates = new (double, int, int)[2 * width];
        _beams = Enumerable.Range(0, width).Select(_ => new List<int>()).ToArray();

        // All beams start as the same prompt: only beam 0 may expand at the first step.
        _scores = Enumerable.Range(0, width).Select(b => b == 0 ? 0d : double.NegativeInfinity).ToArray();
    }

    public int Width => _width;

    public bool Done { get; private set; }

    /// <summary>Tokens each beam has taken so far.</summary>
    public int Steps => _steps;

    /// <summary>Whether beam i can still expand (false: a filler row, or a continuation of probability 0).</summary>
    public bool IsLive(int beam) => !double.IsNegativeInfinity(_scores[beam]);

    /// <summary>
    /// Advances every beam by one token. <paramref name="logits"/> holds k rows. On return
    /// <paramref name="parents"/>[i] is the row beam i continues and <paramref name="tokens"/>[i] its new token.
    /// </summary>
    public void Step(ReadOnlySpan<float> logits, Span<int> parents, Span<int> tokens)
    {
        var vocab = _logProbs.Length;
        var found = 0;
        (double Score, int Beam, int Token) greedy = (double.NegativeInfinity, -1, -1);
        for (var b = 0; b < _width; b++)
        {
            if (double.IsNegativeInfinity(_scores[b]))
            {
                continue;
            }

            var row = logits.Slice(b * vocab, vocab);
            var max = TensorPrimitives.Max(row);
            var logSum = max + MathF.Log(SumExp(row, max));
            TensorPrimitives.Subtract(row, logSum, _logProbs);
            if (b == _greedyBeam)
            {
                var best = TensorPrimitives.IndexOfMax(_logProbs);
                greedy = (_scores[b] + _logProbs[best], b, best);
            }

            found = Keep(found, b, _scores[b]);
        }

        // Candidates sorted best first; at most 2k, so that k survive even if k of them end.
        Array.Sort(_candidates, 0, found, Comparer<(double Score, int Beam, int Token)>.Create((x, y) => y.Score.CompareTo(x.Score)));
        _steps++;
        var next = new List<int>[_width];
        var scores = new double[_width];
        var filled = 0;
        var greedyKept = greedy.Beam < 0;
        var nextGreedyBeam = -1;
        for (var c = 0; c < found && filled < _width; c++)
        {
            var (score, beam, token) = _candidates[c];
            if (double.IsNegativeInfinity(score))
            {
                // Probability 0 (an output constraint's mask): no continuation here or below it in the order.
                break;
            }

            var isGreedy = beam == greedy.Beam && token == greedy.Token;
            if (_endTokens.Contains(token))
            {
                if (c < _width || isGreedy)
                {
                    _finished.Add((score, [.. _beams[beam], token]));
                    greedyKept |= isGreedy;
                }

                continue;
            }

            if (isGreedy)
            {
                greedyKept = true;
                nextGreedyBeam = filled;
            }

            parents[filled] = beam;
            tokens[filled] = token;
            next[filled] = [.. _beams[beam], token];
            scores[filled] = score;
            filled++;
        }

        if (!greedyKept)
        {
            if (_endTokens.Contains(greedy.Token))
            {
                _finished.Add((greedy.Score, [.. _beams[greedy.Beam], greedy.Token]));
            }
            else
            {
                // The greedy continuation fell below the k best: it takes the last place.
                var slot = Math.Min(filled, _width - 1);
                parents[slot] = greedy.Beam;
                tokens[slot] = greedy.Token;
                next[slot] = [.. _beams[greedy.Beam], greedy.Token];
                scores[slot] = greedy.Score;
                nextGreedyBeam = slot;
                filled = Math.Max(filled, slot + 1);
            }
        }

        _greedyBeam = nextGreedyBeam;
        if (filled == 0)
        {
            // Every continuation ended (a constraint allowed only the end token): the search is over.
            for (var b = 0; b < _width; b++)
            {
                parents[b] = b;
                _scores[b] = double.NegativeInfinity;
            }

            Done = true;
            return;
        }

        for (; filled < _width; filled++)
        {
            parents[filled] = parents[0];
            tokens[filled] = tokens[0];
            next[filled] = [.. next[0]];
            scores[filled] = double.NegativeInfinity;
        }

        _beams = next;
        _scores = scores;
        Done = _steps >= _maxTokens || NoRunningBeamCanWin();
    }

    /// <summary>The most likely hypothesis, and whether it ended on an end token (false: it hit the limit).</summary>
    public (IReadOnlyList<int> Tokens, bool Ended) Best()
    {
        var ended = _finished.Count > 0 ? _finished.MaxBy(f => f.Score) : (double.NegativeInfinity, []);
        var running = Enumerable.Range(0, _width).MaxBy(b => _scores[b]);
        return ended.Score >= _scores[running] ? (ended.Tokens, true) : (_beams[running], false);
    }

    private bool NoRunningBeamCanWin()
    {
        if (_finished.Count < _width)
        {
            return false;
        }

        var worstKept = _finished.Select(f => f.Score).OrderDescending().ElementAt(_width - 1);
        return _scores.Max() < worstKept;
    }

    /// <summary>Adds beam b's best 2k continuations to the candidate list (sorted later).</summary>
    private int Keep(int found, int beam, double beamScore)
    {
        var limit = _candidates.Length;
        var worst = -1;
        for (var t = 0; t < _logProbs.Length; t++)
        {
            var score = beamScore + _logProbs[t];
            if (found < limit)
            {
                _candidates[found++] = (score, beam, t);
                continue;
            }

            if (worst < 0 || _candidates[worst].Score >= score)
            {
                worst = worst < 0 ? IndexOfWorst(limit) : worst;
                if (_candidates[worst].Score >= score)
                {
                    continue;
                }
            }

            _candidates[worst] = (score, beam, t);
            worst = IndexOfWorst(limit);
        }

        return found;
    }

    private int IndexOfWorst(int count)
    {
        var worst = 0;
        for (var i = 1; i < count; i++)
        {
            if (_candidates[i].Score < _candidates[worst].Score)
            {
                worst = i;
            }
        }

        return worst;
    }

    private static float SumExp(ReadOnlySpan<float> row, float max)
    {
        var sum = 0f;
        foreach (var x in row)
        {
            sum += MathF.Exp(x - max);
        }

        return sum;
    }
}

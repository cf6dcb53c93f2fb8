using System.Numerics.Tensors;
using ChatCluster.Inference;
using ChatCluster.Inference.Sampling;

namespace ChatCluster.Tests.Inference;

/// <summary>
/// The sampler against logits whose distribution the test knows exactly, so that draws can be checked
/// against it: sets are never left, and frequencies match the renormalised probabilities.
/// </summary>
public sealed class SamplerTests
{
    private const int Vocab = 40;
    private const int Draws = 40_000;

    [Fact]
    public void Temperature_zero_is_greedy()
    {
        var random = new Random(1);
        for (var trial = 0; trial < 50; trial++)
        {
            var logits = RandomLogits(random);
            var expected = TensorPrimitives.IndexOfMax(logits);
            Assert.Equal(expected, new Sampler(new SamplingParameters { Temperature = 0 }, Vocab).Next(logits.ToArray()));
        }
    }

    [Fact]
    public void Top_k_never_picks_outside_the_k_most_likely_and_follows_their_distribution()
    {
        var logits = RandomLogits(new Random(2));
        const int k = 5;
        var allowed = Enumerable.Range(0, Vocab).OrderByDescending(i => logits[i]).Take(k).ToArray();
        var counts = Draw(new SamplingParameters { TopK = k, Seed = 7 }, logits);
        Assert.All(Enumerable.Range(0, Vocab).Except(allowed), i => Assert.Equal(0, counts[i]));
        AssertFollows(Renormalised(logits, allowed), counts);
    }

    [Fact]
    public void Top_p_never_picks_outside_the_nucleus_and_follows_its_distribution()
    {
        var logits = RandomLogits(new Random(3));
        const float p = 0.6f;
        var probabilities = Softmax(logits, 1f);
        var ordered = Enumerable.Range(0, Vocab).OrderByDescending(i => probabilities[i]).ToArray();
        var nucleus = new List<int>();
        var mass = 0.0;
        foreach (var i in ordered)
        {
            nucleus.Add(i);
            mass += probabilities[i];
            if (mass >= p)
            {
                break;
            }
        }

        var counts = Draw(new SamplingParameters { TopP = p, Seed = 11 }, logits);
        Assert.All(Enumerable.Range(0, Vocab).Except(nucleus), i => Assert.Equal(0, counts[i]));
        AssertFollows(Renormalised(logits, [.. nucleus]), counts);
    }

    [Fact]
    public void Temperature_sharpens_the_distribution_as_softmax_of_logits_over_t()
    {
        var logits = RandomLogits(new Random(4));
        var counts = Draw(new SamplingParameters { Temperature = 0.5f, Seed = 5 }, logits);
        AssertFollows(Softmax(logits, 0.5f), counts);
    }

    [Fact]
    public void The_same_seed_gives_the_same_draws_and_another_seed_does_not()
    {
        var logits = RandomLogits(new Random(5));
        int[] Run(long seed)
        {
            var sampler = new Sampler(new SamplingParameters { Seed = seed }, Vocab);
            return Enumerable.Range(0, 200).Select(_ => sampler.Next(logits.ToArray())).ToArray();
        }

        Assert.Equal(Run(42), Run(42));
        Assert.NotEqual(Run(42), Run(43));
    }

    [Fact]
    public void Repetition_penalty_demotes_tokens_already_seen()
    {
        float[] logits = [2.0f, 1.5f, -1f, -3f];
        var sampler = new Sampler(new SamplingParameters { Temperature = 0, RepetitionPenalty = 1.5f }, logits.Length);
        Assert.Equal(0, new Sampler(SamplingParameters.Greedy, logits.Length).Next(logits.ToArray()));
        sampler.Observe(0);
        Assert.Equal(1, sampler.Next(logits.ToArray()));
    }

    [Fact]
    public void Large_logits_do_not_overflow_the_softmax()
    {
        // Logits above ~88 overflow float's exp (a low temperature does this to ordinary logits); the draws still
        // follow the distribution.
        var logits = RandomLogits(new Random(8)).Select(x => x * 40).ToArray();
        var counts = Draw(new SamplingParameters { Temperature = 1, Seed = 9 }, logits);
        AssertFollows(Softmax(logits, 1), counts);
    }

    [Fact]
    public void Logit_bias_bans_and_forces_tokens()
    {
        var logits = RandomLogits(new Random(6));
        var best = TensorPrimitives.IndexOfMax(logits);
        var banned = new Sampler(new SamplingParameters { Temperature = 0, LogitBias = new Dictionary<int, float> { [best] = -100 } }, Vocab);
        Assert.NotEqual(best, banned.Next(logits.ToArray()));

        var forced = (best + 1) % Vocab;
        var counts = Draw(new SamplingParameters { Seed = 3, LogitBias = new Dictionary<int, float> { [forced] = 100 } }, logits);
        Assert.Equal(Draws, counts[forced]);
    }

    private static int[] Draw(SamplingParameters parameters, float[] logits)
    {
        var sampler = new Sampler(parameters, Vocab);
        var counts = new int[Vocab];
        var scratch = new float[Vocab];
        for (var i = 0; i < Draws; i++)
        {
            logits.CopyTo(scratch, 0);
            counts[sampler.Next(scratch)]++;
        }

        return counts;
    }

    /// <summary>Each observed frequency within 4.5 standard deviations of its binomial expectation.</summary>
    private static void AssertFollows(double[] expected, int[] counts)
    {
        for (var i = 0; i < expected.Length; i++)
        {
            var mean = expected[i] * Draws;
            var sd = Math.Sqrt(Draws * expected[i] * (1 - expected[i]));
            Assert.True(Math.Abs(counts[i] - mean) <= 4.5 * sd + 1, $"token {i}: drawn {counts[i]} times, expected {mean:F0} ± {sd:F0}");
        }
    }

    private static double[] Renormalised(float[] logits, int[] kept)
    {
        var p = Softmax(logits, 1f);
        var total = kept.Sum(i => p[i]);
        return Enumerable.Range(0, Vocab).Select(i => kept.Contains(i) ? p[i] / total : 0).ToArray();
    }

    private static double[] Softmax(float[] logits, float temperature)
    {
        var max = logits.Max();
        var e = logits.Select(x => Math.Exp((x - max) / temperature)).ToArray();
        var sum = e.Sum();
        return e.Select(x => x / sum).ToArray();
    }

    private static float[] RandomLogits(Random random) =>
        Enumerable.Range(0, Vocab).Select(_ => (float)(random.NextDouble() * 6 - 3)).ToArray();
}

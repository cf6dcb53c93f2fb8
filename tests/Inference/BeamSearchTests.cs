using System.Numerics.Tensors;
using ChatCluster.Inference;
using ChatCluster.Inference.Model;
using ChatCluster.Inference.Sampling;

namespace ChatCluster.Tests.Inference;

/// <summary>
/// Beam search against a reference that recomputes every beam from scratch each step (no cache, no batch),
/// so the scheduler's cache reordering is checked as well as the search itself.
/// </summary>
public sealed class BeamSearchTests
{
    [Fact]
    public void Beam_width_one_is_greedy()
    {
        using var harness = new SchedulerHarness();
        var prompt = harness.Prompt(21, 8);
        var greedy = Greedy(harness.Model, prompt, 12, harness.Model.Config.EndTokenIds);
        var (beam, _) = ReferenceBeam(harness.Model, prompt, 1, 12, harness.Model.Config.EndTokenIds);
        Assert.Equal(greedy, beam);
    }

    [Fact]
    public void Beam_search_finds_a_sequence_at_least_as_likely_as_greedy()
    {
        using var harness = new SchedulerHarness();
        for (var seed = 0; seed < 4; seed++)
        {
            var prompt = harness.Prompt(30 + seed, 6);
            var greedy = Greedy(harness.Model, prompt, 10, []);
            var (beam, _) = ReferenceBeam(harness.Model, prompt, 4, 10, []);
            var greedyLogProb = LogProbability(harness.Model, prompt, greedy);
            var beamLogProb = LogProbability(harness.Model, prompt, beam);
            Assert.True(beamLogProb >= greedyLogProb - 1e-4, $"prompt {seed}: beam {beamLogProb} < greedy {greedyLogProb}");
        }
    }

    [Fact]
    public async Task The_scheduler_runs_beams_as_rows_of_the_batch_and_matches_the_reference()
    {
        using var harness = new SchedulerHarness();
        var prompt = harness.Prompt(40, 7);
        var (expected, _) = ReferenceBeam(harness.Model, prompt, 3, 12, harness.Model.Config.EndTokenIds);

        // Other sequences share the batch so the beam rows sit among them and move when they leave.
        var others = Enumerable.Range(0, 4)
            .Select(i => harness.Submit(harness.Prompt(50 + i, 4 + i), new SamplingParameters { Temperature = 0, MaxTokens = 3 + 4 * i }))
            .ToList();
        var beam = harness.Submit(prompt, new SamplingParameters { BeamWidth = 3, MaxTokens = 12 });
        var reply = await SchedulerHarness.ReadAsync(beam);
        await Task.WhenAll(others.Select(SchedulerHarness.ReadAsync));

        var expectedText = harness.Tokenizer.Decode(expected.Where(t => !harness.Model.Config.EndTokenIds.Contains(t)).ToArray());
        Assert.Equal(expectedText, reply.Text);
    }

    private static List<int> Greedy(DecoderModel model, int[] prompt, int maxTokens, IReadOnlyList<int> ends)
    {
        var tokens = new List<int>();
        while (tokens.Count < maxTokens)
        {
            var next = TensorPrimitives.IndexOfMax(LastLogits(model, [.. prompt, .. tokens]));
            tokens.Add(next);
            if (ends.Contains(next))
            {
                break;
            }
        }

        return tokens;
    }

    private static (List<int> Tokens, bool Ended) ReferenceBeam(DecoderModel model, int[] prompt, int width, int maxTokens, IReadOnlyList<int> ends)
    {
        var search = new BeamSearch(width, ends, model.VocabSize, maxTokens);
        var beams = Enumerable.Range(0, width).Select(_ => new List<int>()).ToList();
        var parents = new int[width];
        var next = new int[width];
        while (!search.Done)
        {
            var logits = beams.SelectMany(b => LastLogits(model, [.. prompt, .. b])).ToArray();
            search.Step(logits, parents, next);
            beams = Enumerable.Range(0, width).Select(i => new List<int>(beams[parents[i]]) { next[i] }).ToList();
        }

        var (tokens, ended) = search.Best();
        return ([.. tokens], ended);
    }

    private static double LogProbability(DecoderModel model, int[] prompt, List<int> continuation)
    {
        var total = 0.0;
        for (var i = 0; i < continuation.Count; i++)
        {
            var logits = LastLogits(model, [.. prompt, .. continuation.Take(i)]);
            var max = logits.Max();
            var logSum = max + Math.Log(logits.Sum(x => Math.Exp(x - max)));
            total += logits[continuation[i]] - logSum;
        }

        return total;
    }

    private static float[] LastLogits(DecoderModel model, int[] tokens)
    {
        var io = new ModelStepBuffers();
        io.Reserve(1, tokens.Length, 0, model.VocabSize);
        for (var i = 0; i < tokens.Length; i++)
        {
            io.InputIds.Span[i] = tokens[i];
            io.PositionIds.Span[i] = i;
        }

        io.AttentionMask.Span[..tokens.Length].Fill(1);
        var past = new KvCache(model.KvShape);
        past.Resize(1, 0);
        model.Run(io, 1, tokens.Length, past, new KvCache(model.KvShape));
        return io.Logits.Span.Slice((tokens.Length - 1) * model.VocabSize, model.VocabSize).ToArray();
    }
}

using ChatCluster.Inference;
using ChatCluster.Inference.Model;
using ChatCluster.Inference.Scheduling;
using ChatCluster.Tests.Infrastructure;
using ChatCluster.Tests.Training;

namespace ChatCluster.Tests.Inference;

/// <summary>
/// The engine serving a Llama-style model (rotary positions, grouped-query attention): batching and kept caches
/// must not change a greedy reply, which holds only if every path gives each row its right position ids.
/// </summary>
public sealed class TinyLlamaServingTests
{
    private static readonly SamplingParameters Greedy16 = new() { Temperature = 0, MaxTokens = 16 };

    [Fact]
    public async Task Prompts_of_different_lengths_decoded_together_give_the_greedy_ids_each_gives_alone()
    {
        using var harness = new SchedulerHarness(endTokens: false, model: TinyLlamaDecoderTests.TinyLlama);
        var prompts = new[] { 3, 8, 13, 21, 30 }.Select((length, i) => harness.Prompt(600 + i, length)).ToList();
        var alone = new List<int[]>();
        foreach (var prompt in prompts)
        {
            alone.Add(await GenerateAsync(harness.Submit(prompt, Greedy16), prompt));
        }

        // Submitted back to back: prefilled together left-padded (as far as the loop had not yet started a step), then decoded in one batch.
        var sequences = prompts.Select(p => harness.Submit(p, Greedy16)).ToList();
        var together = await Task.WhenAll(sequences.Select((s, i) => GenerateAsync(s, prompts[i])));

        Assert.True(harness.Scheduler.LargestPrefillGroup >= 2, $"largest prefill group: {harness.Scheduler.LargestPrefillGroup}");
        for (var i = 0; i < prompts.Count; i++)
        {
            Assert.Equal(alone[i], together[i]);
        }

        Assert.True(alone.Select(ids => string.Join(",", ids)).Distinct().Count() > 1, "the model gives every prompt the same reply");
    }

    [Fact]
    public async Task A_second_turn_reuses_the_kept_cache_and_replies_as_a_cold_run_does()
    {
        using var harness = new SchedulerHarness(endTokens: false, model: TinyLlamaDecoderTests.TinyLlama);
        var turn1 = harness.Prompt(700, 20);
        var first = harness.Submit(turn1, Greedy16, cacheKey: "conversation-1");
        var reply1 = await GenerateAsync(first, turn1);

        // The next turn extends the whole first turn, its reply included: the kept cache is all prefix.
        int[] turn2 = [.. turn1, .. reply1, .. harness.Prompt(701, 8)];
        var before = harness.Scheduler.PrefilledTokens;
        var cached = await GenerateAsync(harness.Submit(turn2, Greedy16, cacheKey: "conversation-1"), turn2);
        var prefilled = harness.Scheduler.PrefilledTokens - before;

        // The kept cache holds every token the model was fed: all but the reply's last, which is prefilled with the new 8.
        Assert.Equal(9, prefilled);

        before = harness.Scheduler.PrefilledTokens;
        var cold = await GenerateAsync(harness.Submit(turn2, Greedy16, cacheKey: "conversation-2"), turn2);
        Assert.Equal(turn2.Length, harness.Scheduler.PrefilledTokens - before);
        Assert.Equal(cold, cached);
    }

    [Fact]
    public async Task The_engine_loads_the_model_folder_and_answers_a_chat_in_its_template()
    {
        using var engine = InferenceEngine.Load(TinyLlamaDecoderTests.TinyLlama, ExecutionDevice.Cpu);
        Assert.Equal("ChatML", engine.Template.Name);
        var text = "";
        ChatDelta? last = null;
        await foreach (var delta in engine.ChatAsync(new ChatRequest { Messages = [new ChatMessage("user", "What does harbor mean?")], Sampling = Greedy16 }).WithTimeout())
        {
            text += delta.Text;
            last = delta;
        }

        Assert.NotNull(last?.Finish);
        Assert.False(string.IsNullOrWhiteSpace(text));
    }

    /// <summary>Reads the sequence to its end; returns the ids it generated after <paramref name="prompt"/>.</summary>
    private static async Task<int[]> GenerateAsync(Sequence sequence, int[] prompt)
    {
        await SchedulerHarness.ReadAsync(sequence);
        return [.. sequence.Tokens.Skip(prompt.Length)];
    }
}

using ChatCluster.Inference;
using ChatCluster.Inference.Model;
using ChatCluster.Inference.Scheduling;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Inference;

/// <summary>
/// The bundled model's fused graph (model.fused.onnx: GroupQueryAttention over a KV buffer updated in place)
/// against its Optimum graph (model.onnx), and tiny-llama's likewise, through the real scheduler and ONNX
/// Runtime: greedy replies must be identical with continuous batching, chunked prefill, kept caches and beam search.
/// </summary>
public sealed class FusedGraphTests
{
    private const string Fused = "model.fused.onnx";
    private static readonly SamplingParameters Greedy = new() { Temperature = 0, MaxTokens = 24 };

    [Fact]
    public void The_fused_graph_is_read_as_a_shared_kv_buffer_and_the_optimum_graph_is_not()
    {
        using var fused = DecoderModel.Load(TestPaths.BundledModel, ExecutionDevice.Cpu, graph: Fused);
        using var optimum = DecoderModel.Load(TestPaths.BundledModel, ExecutionDevice.Cpu, graph: DecoderModel.OptimumGraph);
        Assert.True(fused.SharesKvBuffer);
        Assert.False(optimum.SharesKvBuffer);
        Assert.Equal(optimum.KvShape, fused.KvShape);
        Assert.Equal(optimum.VocabSize, fused.VocabSize);
    }

    [Theory]
    [InlineData("models/chatcluster-tiny")]
    [InlineData("tests/data/tiny-llama")]
    public async Task Greedy_replies_match_with_rows_joining_and_leaving_mid_decode(string folder)
    {
        // tiny-llama's fused graph: rotary inside GroupQueryAttention, 2 KV heads for 4 query heads, RMSNorm.
        var model = Path.Combine(TestPaths.RepositoryRoot, folder);
        var optimum = await JoinsAndLeavesAsync(model, DecoderModel.OptimumGraph);
        var fused = await JoinsAndLeavesAsync(model, Fused);
        Assert.All(optimum, reply => Assert.StartsWith("Length: ", reply));
        Assert.Equal(optimum, fused);
    }

    [Fact]
    public async Task Short_prompts_prefilled_together_in_consecutive_slots_give_the_same_replies()
    {
        async Task<(string[] Texts, int Group)> RunAsync(string graph)
        {
            using var harness = new SchedulerHarness(new SchedulerOptions { PrefillChunkTokens = 128 }, model: TestPaths.BundledModel, graph: graph);
            var sequences = Enumerable.Range(0, 8).Select(i => harness.Submit(harness.Prompt(300 + i, 5 + i), Greedy)).ToList();
            var replies = await Task.WhenAll(sequences.Select(SchedulerHarness.ReadAsync));
            return ([.. replies.Select(r => r.Text)], harness.Scheduler.LargestPrefillGroup);
        }

        var optimum = await RunAsync(DecoderModel.OptimumGraph);
        var fused = await RunAsync(Fused);
        Assert.True(fused.Group >= 2, $"largest prefill group on the fused graph: {fused.Group}");
        Assert.Equal(optimum.Texts, fused.Texts);
    }

    [Fact]
    public async Task Greedy_replies_match_with_long_prompts_prefilled_in_chunks()
    {
        var options = new SchedulerOptions { PrefillChunkTokens = 16 };
        async Task<string[]> RunAsync(string graph)
        {
            using var harness = new SchedulerHarness(options, model: TestPaths.BundledModel, graph: graph);
            var sequences = Enumerable.Range(0, 6).Select(i => harness.Submit(harness.Prompt(700 + i, 20 + (i * 17)), Greedy)).ToList();
            return [.. (await Task.WhenAll(sequences.Select(SchedulerHarness.ReadAsync))).Select(r => r.Text)];
        }

        Assert.Equal(await RunAsync(DecoderModel.OptimumGraph), await RunAsync(Fused));
    }

    [Fact]
    public async Task Slots_that_grow_while_rows_decode_keep_every_rows_reply()
    {
        // Slots first hold 127 tokens: these rows cross that mid-decode (one while another is still prefilling
        // in chunks, one row's prompt alone crosses it), so the KV buffer is laid out anew under running rows.
        var options = new SchedulerOptions { PrefillChunkTokens = 32 };
        async Task<string[]> RunAsync(string graph)
        {
            using var harness = new SchedulerHarness(options, endTokens: false, model: TestPaths.BundledModel, graph: graph);
            var first = Enumerable.Range(0, 4).Select(i => harness.Submit(harness.Prompt(900 + i, 100 + (i * 5)), new SamplingParameters { Temperature = 0, MaxTokens = 40 })).ToList();
            await AsyncTimeouts.UntilAsync(() => first.All(s => s.Generated > 0), "the first rows decode");
            var late = harness.Submit(harness.Prompt(990, 150), new SamplingParameters { Temperature = 0, MaxTokens = 20 });
            var replies = await Task.WhenAll(first.Append(late).Select(SchedulerHarness.ReadAsync));
            return [.. replies.Select(r => $"{r.Finish}: {r.Text}")];
        }

        var optimum = await RunAsync(DecoderModel.OptimumGraph);
        var fused = await RunAsync(Fused);
        Assert.All(optimum, reply => Assert.StartsWith("Length: ", reply));
        Assert.Equal(optimum, fused);
    }

    [Fact]
    public async Task A_kept_cache_continues_on_the_fused_graph_as_a_fresh_prefill_does_on_the_optimum_graph()
    {
        using var optimum = new SchedulerHarness(model: TestPaths.BundledModel);
        using var fused = new SchedulerHarness(model: TestPaths.BundledModel, graph: Fused);
        var turn1 = optimum.Prompt(12, 30);
        int[] turn2 = [.. turn1, .. optimum.Prompt(13, 10)];
        var expected = await SchedulerHarness.ReadAsync(optimum.Submit(turn2, Greedy));

        await SchedulerHarness.ReadAsync(fused.Submit(turn1, Greedy, cacheKey: "conversation-1"));
        var before = fused.Scheduler.PrefilledTokens;
        var cached = await SchedulerHarness.ReadAsync(fused.Submit(turn2, Greedy, cacheKey: "conversation-1"));
        Assert.InRange(fused.Scheduler.PrefilledTokens - before, 1, 10);
        Assert.Equal(expected.Text, cached.Text);
    }

    [Theory]
    [InlineData("models/chatcluster-tiny")]
    [InlineData("tests/data/tiny-llama")]
    public async Task Beam_search_among_other_rows_gives_the_same_reply(string folder)
    {
        var model = Path.Combine(TestPaths.RepositoryRoot, folder);
        async Task<string> RunAsync(string graph)
        {
            using var harness = new SchedulerHarness(model: model, graph: graph);
            var others = Enumerable.Range(0, 5)
                .Select(i => harness.Submit(harness.Prompt(50 + i, 4 + i), new SamplingParameters { Temperature = 0, MaxTokens = 3 + (4 * i) }))
                .ToList();
            var beam = await SchedulerHarness.ReadAsync(harness.Submit(harness.Prompt(9, 14), new SamplingParameters { BeamWidth = 3, MaxTokens = 16 }));
            await Task.WhenAll(others.Select(SchedulerHarness.ReadAsync));
            return beam.Text;
        }

        Assert.Equal(await RunAsync(DecoderModel.OptimumGraph), await RunAsync(Fused));
    }

    [Fact]
    public async Task Slots_of_cancelled_and_finished_sequences_are_reused()
    {
        // Two slots only: a prompt cancelled mid-prefill and replies that end must give theirs back, or the
        // later requests would wait for a slot forever.
        using var harness = new SchedulerHarness(new SchedulerOptions { MaxBatchRows = 2, PrefillChunkTokens = 8 }, model: TestPaths.BundledModel, graph: Fused);
        var cancelled = harness.Submit(harness.Prompt(1, 120), Greedy);
        harness.Scheduler.Cancel(cancelled);
        var later = Enumerable.Range(0, 6).Select(i => harness.Submit(harness.Prompt(20 + i, 10), Greedy)).ToList();
        var replies = await Task.WhenAll(later.Select(SchedulerHarness.ReadAsync));
        Assert.Equal(FinishReason.Cancelled, (await SchedulerHarness.ReadAsync(cancelled)).Finish);
        Assert.All(replies, r => Assert.NotNull(r.Finish));
        await AsyncTimeouts.UntilAsync(() => harness.Scheduler.ActiveRows == 0, "the batch is empty again");
    }

    /// <summary>
    /// Twelve greedy requests of other prompt and reply lengths: six start together, six more arrive while those
    /// decode, and short replies leave while long ones go on (holes open in the slot layout and are refilled).
    /// </summary>
    private static async Task<string[]> JoinsAndLeavesAsync(string model, string graph)
    {
        using var harness = new SchedulerHarness(endTokens: false, model: model, graph: graph);
        SamplingParameters Lasting(int i) => new() { Temperature = 0, MaxTokens = 4 + (i * 7 % 40) };
        var first = Enumerable.Range(0, 6).Select(i => harness.Submit(harness.Prompt(400 + i, 3 + (i * 5)), Lasting(i))).ToList();
        await AsyncTimeouts.UntilAsync(() => first.Any(s => s.IsDone), "a first request has finished");
        var second = Enumerable.Range(6, 6).Select(i => harness.Submit(harness.Prompt(400 + i, 3 + (i * 5)), Lasting(i))).ToList();
        var replies = await Task.WhenAll(first.Concat(second).Select(SchedulerHarness.ReadAsync));
        return [.. replies.Select(r => $"{r.Finish}: {r.Text}")];
    }
}

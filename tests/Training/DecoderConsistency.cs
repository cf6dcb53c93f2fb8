using ChatCluster.Inference.Model;

namespace ChatCluster.Tests.Training;

/// <summary>
/// The checks an exported decoder must pass for the engine's batching, run through the engine's own
/// <see cref="DecoderModel"/>: a left-padded batch prefilled from an empty cache (past length 0), then one
/// cached decode step, then a chunk of two tokens on that cache (as a kept cache or a chunked prefill continues),
/// gives at every step for every row the logits that a full recomputation of that row alone gives; padding rows
/// stay finite (no NaN from fully masked attention). Positions count from each row's first real token: a learned
/// position table fails if padding shifts them; rotary embeddings, which see only the distance between a query and
/// a key, fail if the shift differs between the prefill and the later steps.
/// </summary>
internal static class DecoderConsistency
{
    private const float Tolerance = 1e-4f;

    public static void AssertCachedBatchEqualsRecompute(string modelFolder)
    {
        using var model = DecoderModel.Load(modelFolder, ExecutionDevice.Cpu, graph: DecoderModel.OptimumGraph);
        int[] shortRow = [11, 12, 13, 14, 15];
        int[] longRow = [5, 17, 42, 99, 3, 250, 7];
        var io = new ModelStepBuffers();
        var past = new KvCache(model.KvShape);
        past.Resize(2, 0);
        var present = new KvCache(model.KvShape);

        var prefill = Step(model, io, [shortRow, longRow], longRow.Length, past, present);
        Assert.All(io.Logits.Span[..(2 * longRow.Length * model.VocabSize)].ToArray(), v => Assert.True(float.IsFinite(v), "prefill logits must be finite, padding rows included"));
        AssertRowsMatchRecompute(model, [shortRow, longRow], prefill);

        int[][] decoded = [[.. shortRow, 33], [.. longRow, 21]];
        AssertRowsMatchRecompute(model, decoded, Step(model, io, decoded, 1, present, past));
        Assert.Equal(longRow.Length + 1, past.Length);

        int[][] chunked = [[.. decoded[0], 8, 64], [.. decoded[1], 301, 2]];
        AssertRowsMatchRecompute(model, chunked, Step(model, io, chunked, 2, past, present));
    }

    /// <summary>
    /// Feeds each row's last <paramref name="tokens"/> tokens on top of <paramref name="past"/>; the rows are
    /// left-padded to the longest, as the engine pads them. Returns each row's last logits.
    /// </summary>
    private static float[][] Step(DecoderModel model, ModelStepBuffers io, int[][] rows, int tokens, KvCache past, KvCache present)
    {
        var length = past.Length + tokens;
        io.Reserve(rows.Length, tokens, past.Length, model.VocabSize);
        for (var r = 0; r < rows.Length; r++)
        {
            var pad = length - rows[r].Length;
            for (var j = 0; j < length; j++)
            {
                io.AttentionMask.Span[r * length + j] = j < pad ? 0L : 1L;
            }

            for (var t = 0; t < tokens; t++)
            {
                var j = past.Length + t;
                var at = r * tokens + t;
                (io.InputIds.Span[at], io.PositionIds.Span[at]) = j < pad ? (0L, 0L) : (rows[r][j - pad], j - pad);
            }
        }

        model.Run(io, rows.Length, tokens, past, present);
        var vocab = model.VocabSize;
        return [.. Enumerable.Range(0, rows.Length).Select(r => io.Logits.Span.Slice(((r * tokens) + tokens - 1) * vocab, vocab).ToArray())];
    }

    private static void AssertRowsMatchRecompute(DecoderModel model, int[][] rows, float[][] logits)
    {
        for (var r = 0; r < rows.Length; r++)
        {
            var empty = new KvCache(model.KvShape);
            empty.Resize(1, 0);
            var alone = Step(model, new ModelStepBuffers(), [rows[r]], rows[r].Length, empty, new KvCache(model.KvShape))[0];
            var worst = alone.Zip(logits[r]).Max(p => MathF.Abs(p.First - p.Second));
            Assert.True(worst < Tolerance, $"row {r} of {rows[r].Length} tokens: logits differ from recomputing it alone by up to {worst}");
        }
    }
}

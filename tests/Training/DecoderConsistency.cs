using ChatCluster.Inference.Model;

namespace ChatCluster.Tests.Training;

/// <summary>
/// The checks an exported decoder must pass for the engine's batching, run through the engine's own
/// <see cref="DecoderModel"/>: a left-padded batch prefilled from an empty cache (past length 0), then one
/// cached decode step, gives for every row the logits that a full recomputation of that row alone gives; padding
/// rows stay finite (no NaN from fully masked attention).
/// </summary>
internal static class DecoderConsistency
{
    private const float Tolerance = 1e-4f;

    public static void AssertCachedBatchEqualsRecompute(string modelFolder)
    {
        using var model = DecoderModel.Load(modelFolder, ExecutionDevice.Cpu);
        var vocab = model.VocabSize;
        int[] longRow = [5, 17, 42, 99, 3, 250, 7];
        int[] shortRow = [11, 12, 13, 14, 15];
        int[] next = [33, 21];
        var seq = longRow.Length;
        var pad = seq - shortRow.Length;

        // Prefill: row 0 left-padded by `pad`, positions counted from its first real token.
        var io = new ModelStepBuffers();
        io.Reserve(2, seq, 0, vocab);
        for (var i = 0; i < seq; i++)
        {
            (io.InputIds.Span[i], io.PositionIds.Span[i], io.AttentionMask.Span[i]) = i < pad ? (0L, 0L, 0L) : (shortRow[i - pad], i - pad, 1L);
            (io.InputIds.Span[seq + i], io.PositionIds.Span[seq + i], io.AttentionMask.Span[seq + i]) = (longRow[i], i, 1L);
        }

        var past = new KvCache(model.KvShape);
        past.Resize(2, 0);
        var present = new KvCache(model.KvShape);
        model.Run(io, 2, seq, past, present);
        var prefill = io.Logits.Span[..(2 * seq * vocab)].ToArray();
        Assert.All(prefill, v => Assert.True(float.IsFinite(v), "prefill logits must be finite, padding rows included"));
        AssertClose(LastLogitsAlone(model, shortRow), prefill[((seq - 1) * vocab)..(seq * vocab)]);
        AssertClose(LastLogitsAlone(model, longRow), prefill[((2 * seq - 1) * vocab)..(2 * seq * vocab)]);

        // One decode step for both rows on the cache of length `seq`.
        io.Reserve(2, 1, seq, vocab);
        for (var r = 0; r < 2; r++)
        {
            io.InputIds.Span[r] = next[r];
            io.PositionIds.Span[r] = r == 0 ? shortRow.Length : longRow.Length;
            var mask = io.AttentionMask.Span.Slice(r * (seq + 1), seq + 1);
            mask.Fill(1);
            mask[..(r == 0 ? pad : 0)].Clear();
        }

        model.Run(io, 2, 1, present, past);
        Assert.Equal(seq + 1, past.Length);
        AssertClose(LastLogitsAlone(model, [.. shortRow, next[0]]), io.Logits.Span[..vocab].ToArray());
        AssertClose(LastLogitsAlone(model, [.. longRow, next[1]]), io.Logits.Span[vocab..(2 * vocab)].ToArray());
    }

    private static float[] LastLogitsAlone(DecoderModel model, int[] tokens)
    {
        var io = new ModelStepBuffers();
        io.Reserve(1, tokens.Length, 0, model.VocabSize);
        for (var i = 0; i < tokens.Length; i++)
        {
            (io.InputIds.Span[i], io.PositionIds.Span[i], io.AttentionMask.Span[i]) = (tokens[i], i, 1L);
        }

        var empty = new KvCache(model.KvShape);
        empty.Resize(1, 0);
        model.Run(io, 1, tokens.Length, empty, new KvCache(model.KvShape));
        return io.Logits.Span.Slice((tokens.Length - 1) * model.VocabSize, model.VocabSize).ToArray();
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Zip(actual).Max(p => MathF.Abs(p.First - p.Second));
        Assert.True(worst < Tolerance, $"logits differ by up to {worst}");
    }
}

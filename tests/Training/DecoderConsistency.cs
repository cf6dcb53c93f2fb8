namespace ChatCluster.Tests.Training;

/// <summary>
/// The checks an exported decoder must pass for the engine's batching: a left-padded batch prefilled from an
/// empty cache (past length 0), then one cached decode step, gives for every row the logits that a full
/// recomputation of that row alone gives; padding rows stay finite (no NaN from fully masked attention).
/// </summary>
internal static class DecoderConsistency
{
    private const float Tolerance = 1e-3f;

    public static void AssertCachedBatchEqualsRecompute(string modelFolder)
    {
        using var decoder = new OnnxDecoder(modelFolder);
        int vocab = decoder.VocabSize;
        long[] longRow = [5, 17, 42, 99, 3, 250, 7];
        long[] shortRow = [11, 12, 13, 14, 15];
        long nextLong = 21, nextShort = 33;
        int pad = longRow.Length - shortRow.Length;

        // Prefill: row 0 left-padded by `pad`, positions counted from its first real token.
        long[] ids = [.. Enumerable.Repeat(0L, pad), .. shortRow, .. longRow];
        long[] mask = [.. Enumerable.Repeat(0L, pad), .. Enumerable.Repeat(1L, shortRow.Length), .. Enumerable.Repeat(1L, longRow.Length)];
        long[] positions = [.. Enumerable.Repeat(0L, pad), .. Enumerable.Range(0, shortRow.Length).Select(i => (long)i),
                            .. Enumerable.Range(0, longRow.Length).Select(i => (long)i)];
        var (prefillLogits, cache) = decoder.Run(2, ids, mask, positions, decoder.EmptyCache(), 0);
        Assert.All(prefillLogits, v => Assert.True(float.IsFinite(v), "prefill logits must be finite, padding rows included"));

        int seq = longRow.Length;
        AssertClose(decoder.LastLogitsFullRecompute(shortRow), prefillLogits[((seq - 1) * vocab)..(seq * vocab)]);
        AssertClose(decoder.LastLogitsFullRecompute(longRow), prefillLogits[((2 * seq - 1) * vocab)..(2 * seq * vocab)]);

        // One decode step for both rows on the cache of length `seq`.
        long[] stepMask = [.. mask[..seq], 1, .. mask[seq..], 1];
        var (stepLogits, presents) = decoder.Run(2, [nextShort, nextLong], stepMask, [shortRow.Length, longRow.Length], cache, seq);
        Assert.Equal(2 * decoder.Heads * (seq + 1) * decoder.HeadSize, presents[0].Length);
        AssertClose(decoder.LastLogitsFullRecompute([.. shortRow, nextShort]), stepLogits[..vocab]);
        AssertClose(decoder.LastLogitsFullRecompute([.. longRow, nextLong]), stepLogits[vocab..]);
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        float worst = expected.Zip(actual).Max(p => MathF.Abs(p.First - p.Second));
        Assert.True(worst < Tolerance, $"logits differ by up to {worst}");
    }
}

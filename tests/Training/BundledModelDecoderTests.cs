namespace ChatCluster.Tests.Training;

public sealed class BundledModelDecoderTests
{
    private static string BundledModel => ChatCluster.Tests.Infrastructure.TestPaths.BundledModel;

    [Fact]
    public void Left_padded_cached_decoding_matches_full_recompute_on_onnx_runtime() =>
        DecoderConsistency.AssertCachedBatchEqualsRecompute(BundledModel);
}

namespace ChatCluster.Tests.Training;

public sealed class BundledModelDecoderTests
{
    private static string BundledModel => Path.Combine(RepositoryPaths.Root(), "models", "chatcluster-tiny");

    [Fact]
    public void Left_padded_cached_decoding_matches_full_recompute_on_onnx_runtime() =>
        DecoderConsistency.AssertCachedBatchEqualsRecompute(BundledModel);
}

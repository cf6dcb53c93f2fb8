namespace ChatCluster.Tests.Training;

public sealed class TinyModelDecoderTests
{
    private static string TinyModel => ChatCluster.Tests.Infrastructure.TestPaths.TinyModel;

    [Fact]
    public void Left_padded_cached_decoding_matches_full_recompute_on_onnx_runtime() =>
        DecoderConsistency.AssertCachedBatchEqualsRecompute(TinyModel);

    [Fact]
    public void Model_folder_has_the_hugging_face_files_and_the_chatml_template()
    {
        foreach (var file in new[] { "model.onnx", "tokenizer.json", "config.json", "generation_config.json", "tokenizer_config.json" })
            Assert.True(File.Exists(Path.Combine(TinyModel, file)), $"{file} missing");
        var template = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(TinyModel, "tokenizer_config.json")))
            .RootElement.GetProperty("chat_template").GetString();
        Assert.Contains("<|im_start|>", template);
        Assert.Contains("add_generation_prompt", template);
    }
}

using System.Text.Json;

namespace ChatCluster.Tests.Training;

/// <summary>
/// Runs the whole training pipeline in smoke mode (minutes on two CPU cores) with Debian's python3-torch,
/// then checks what it wrote: the model folder the engine loads, metrics showing that both training phases
/// learned, and the exported decoder on ONNX Runtime.
/// </summary>
public sealed class TrainingPipelineSmokeTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(20);  // a shared CI machine can be several times slower
    private readonly string _out = Path.Combine(Path.GetTempPath(), "chatcluster-smoke-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Smoke_run_trains_evaluates_and_exports_a_loadable_model()
    {
        RunPipeline();

        string model = Path.Combine(_out, "model");
        foreach (var file in new[] { "model.onnx", "model.fused.onnx", "tokenizer.json", "config.json", "generation_config.json", "tokenizer_config.json" })
            Assert.True(File.Exists(Path.Combine(model, file)), $"{file} missing");
        foreach (var file in new[] { "training_curves.png", "metrics.json", "MODEL_CARD.md" })
            Assert.True(File.Exists(Path.Combine(model, file)), $"{file} missing");

        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(model, "metrics.json")));
        var m = metrics.RootElement;
        double Loss(string phase, string at) => m.GetProperty(phase).GetProperty(at).GetDouble();
        Assert.True(Loss("pretrain_loss", "last") < Loss("pretrain_loss", "first") - 0.5, "pretraining loss did not drop");
        Assert.True(Loss("sft_loss", "last") < Loss("sft_loss", "first"), "fine-tuning loss did not drop");
        double Perplexity(string stage) => m.GetProperty(stage).GetProperty("heldout_dialogue_perplexity").GetDouble();
        Assert.True(Perplexity("after_fine_tuning") < Perplexity("after_pretraining"),
            "fine-tuning did not lower the held-out dialogue perplexity");

        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(model, "config.json")));
        using var tokenizer = JsonDocument.Parse(File.ReadAllText(Path.Combine(model, "tokenizer.json")));
        Assert.Equal(config.RootElement.GetProperty("vocab_size").GetInt32(),
            tokenizer.RootElement.GetProperty("model").GetProperty("vocab").EnumerateObject().Count());

        DecoderConsistency.AssertCachedBatchEqualsRecompute(model);
    }

    private void RunPipeline() =>
        PythonScript.Run(Limit, "training/pipeline.py", "--smoke", "--device", "cpu", "--out", _out);

    public void Dispose()
    {
        if (Directory.Exists(_out))
            Directory.Delete(_out, recursive: true);
    }
}

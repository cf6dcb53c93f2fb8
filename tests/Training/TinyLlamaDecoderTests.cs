using System.Diagnostics;
using System.Text.Json;
using ChatCluster.Inference.Model;
using ChatCluster.Tests.Infrastructure;

namespace ChatCluster.Tests.Training;

/// <summary>
/// The Llama-style export (RMSNorm, rotary positions from position_ids, grouped-query attention, SwiGLU) on ONNX
/// Runtime: the committed tests/data/tiny-llama, and a fresh one trained and exported by training/make_test_model.py.
/// </summary>
public sealed class TinyLlamaDecoderTests : IDisposable
{
    private readonly string _out = Path.Combine(Path.GetTempPath(), "chatcluster-llama-" + Guid.NewGuid().ToString("N"));

    /// <summary>tests/data/tiny-llama: 2 layers, width 64, 4 query heads sharing 2 key/value heads.</summary>
    internal static string TinyLlama => Path.Combine(TestPaths.RepositoryRoot, "tests", "data", "tiny-llama");

    [Fact]
    public void Left_padded_cached_decoding_matches_full_recompute_on_onnx_runtime() =>
        DecoderConsistency.AssertCachedBatchEqualsRecompute(TinyLlama);

    [Fact]
    public void The_graph_takes_position_ids_and_caches_fewer_key_value_heads_than_query_heads()
    {
        using var model = DecoderModel.Load(TinyLlama, ExecutionDevice.Cpu, graph: DecoderModel.OptimumGraph);
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(TinyLlama, "config.json")));
        var c = config.RootElement;
        Assert.Equal("llama", c.GetProperty("model_type").GetString());
        Assert.True(model.HasPositionIds);
        Assert.Equal(c.GetProperty("num_key_value_heads").GetInt32(), model.KvShape.Heads);
        Assert.True(model.KvShape.Heads < c.GetProperty("num_attention_heads").GetInt32());
        Assert.Equal(c.GetProperty("hidden_size").GetInt32() / c.GetProperty("num_attention_heads").GetInt32(), model.KvShape.HeadDim);
        Assert.Equal(c.GetProperty("num_hidden_layers").GetInt32(), model.KvShape.Layers);
        Assert.Equal(c.GetProperty("max_position_embeddings").GetInt32(), model.Config.ContextWindow);
    }

    [Fact]
    public async Task A_llama_trained_and_exported_end_to_end_passes_the_decoder_checks()
    {
        var start = new ProcessStartInfo("/usr/bin/python3") { WorkingDirectory = TestPaths.RepositoryRoot, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "training/make_test_model.py", "--out", _out, "--pretrain-steps", "40", "--sft-steps", "10", "--words", "300" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();  // tqdm's bars; drained so the pipe never fills
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(5));  // ~15 s alone; a shared CI machine can be several times slower
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("make_test_model.py ran past 5 minutes");
        }

        var (output, errors) = (await stdout, await stderr);
        Assert.True(process.ExitCode == 0, $"make_test_model.py failed:\n{errors[^Math.Min(4000, errors.Length)..]}");
        using var summary = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        var pretrainLoss = summary.RootElement.GetProperty("pretrain_loss");
        Assert.True(pretrainLoss[1].GetDouble() < pretrainLoss[0].GetDouble() - 0.5, "pretraining loss did not drop");
        DecoderConsistency.AssertCachedBatchEqualsRecompute(_out);
    }

    public void Dispose()
    {
        if (Directory.Exists(_out))
        {
            Directory.Delete(_out, recursive: true);
        }
    }
}

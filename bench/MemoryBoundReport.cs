using System.Text;
using System.Text.Json.Nodes;

namespace ChatCluster.Bench;

/// <summary>
/// The memory-bound regime (batch 1): each engine's decode step against the bytes a step must read (every weight
/// matrix once, in the engine's precision, plus the KV cache of the context so far) over this machine's measured
/// read bandwidth. "Of the limit" is limit time / step time: 1.0 would be a step that only streams its bytes.
/// Engine step: the decode model call for the engine (its phase timing), the mean inter-token time for peers.
/// </summary>
internal static class MemoryBoundReport
{
    public sealed record Row(string Model, string Engine, string Precision, double WeightMb, double KvMb, double StepMs, double LimitMs, double OfLimit);

    public static List<Row> Rows(string model, string modelDirectory, IEnumerable<LevelResult> levels, int promptTokens, int generatedTokens, double gigabytesPerSecond)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(modelDirectory, "config.json")))!;
        double I(string name) => config[name]!.GetValue<double>();
        var (layers, width, vocab) = (I("n_layer"), I("n_embd"), I("vocab_size"));
        var inner = config["n_inner"] is { } n && n.GetValueKind() == System.Text.Json.JsonValueKind.Number ? n.GetValue<double>() : 4 * width;
        // Matrices read once per step: per layer qkv, attention out, fc, mlp out; then the lm_head.
        var parameters = layers * (3 * width * width + width * width + 2 * width * inner) + width * vocab;
        // Biases, norms and the two embedding rows a token gathers stay float32 everywhere.
        var smallBytes = 4 * (layers * (3 * width + width + inner + width + 4 * width) + 2 * width + 2 * width);
        // A decode step's context, averaged over the reply: the prompt plus half the generated tokens.
        var context = promptTokens + generatedTokens / 2.0;
        var rows = new List<Row>();
        foreach (var level in levels.Where(l => l.Concurrency == 1))
        {
            var (perWeight, perCacheValue, precision) = Precision(level.Engine);
            var weightBytes = parameters * perWeight + smallBytes;
            var kvBytes = layers * 2 * width * context * perCacheValue;
            var limitMs = (weightBytes + kvBytes) / (gigabytesPerSecond * 1e9) * 1e3;
            var stepMs = level.Phases?.ModelMs ?? level.StepMs;
            rows.Add(new Row(model, level.Engine, precision, weightBytes / 1e6, kvBytes / 1e6, stepMs, limitMs, limitMs / stepMs));
        }

        return rows;
    }

    public static string Markdown(List<Row> rows, double gigabytesPerSecond, int threads) =>
        new StringBuilder($"\n### Memory-bound regime (batch 1)\n\nMeasured read bandwidth: **{gigabytesPerSecond:F1} GB/s** ({threads} threads summing a 512 MB buffer, best of 7). " +
            "Bytes a decode step reads: every weight matrix once in the engine's precision (int8 MatMulNBits: 1 byte + a float32 scale per 32; " +
            "Q8_0: 34 bytes per 32), float32 biases and norms, and the KV cache of the mean context (prompt + half the reply). " +
            "Limit = bytes / bandwidth; of the limit = limit / measured step (engine: decode model call; peers: mean inter-token time).\n\n" +
            "| model | engine | precision | weights MB | KV MB | step ms | limit ms | of the limit |\n|---|---|---|---|---|---|---|---|\n")
        .AppendJoin("", rows.Select(r => $"| {r.Model} | {r.Engine} | {r.Precision} | {r.WeightMb:F1} | {r.KvMb:F2} | {r.StepMs:F2} | {r.LimitMs:F2} | {r.OfLimit:F2} |\n"))
        .ToString();

    /// <summary>Bytes per weight, bytes per cached K or V value, and words for the table.</summary>
    private static (double PerWeight, double PerCacheValue, string Words) Precision(string engine) => engine switch
    {
        "chatcluster-fused-int8" => (1 + 4.0 / 32, 4, "int8 weights, f32 KV"),
        _ when engine.StartsWith("llamacpp-q8", StringComparison.Ordinal) => (34.0 / 32, 2, "Q8_0 weights, f16 KV"),
        _ when engine.StartsWith("llamacpp-f32", StringComparison.Ordinal) => (4, 2, "f32 weights, f16 KV"),
        _ => (4, 4, "f32 weights, f32 KV"),
    };
}

using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace ChatCluster.Tests.Training;

/// <summary>
/// Runs an exported model folder's model.onnx directly on ONNX Runtime, in the decoder-with-past layout
/// that training/export.py writes, so tests can compare cached decoding with full recomputation.
/// Row-major arrays throughout: ids, mask and positions are (batch, length); a cache entry is (batch, heads, past, headDim).
/// </summary>
internal sealed class OnnxDecoder : IDisposable
{
    private readonly InferenceSession _session;

    public OnnxDecoder(string modelFolder)
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(modelFolder, "config.json")));
        var root = config.RootElement;
        Layers = root.GetProperty("n_layer").GetInt32();
        Heads = root.GetProperty("n_head").GetInt32();
        HeadSize = root.GetProperty("n_embd").GetInt32() / Heads;
        VocabSize = root.GetProperty("vocab_size").GetInt32();
        _session = new InferenceSession(Path.Combine(modelFolder, "model.onnx"));
    }

    public int Layers { get; }
    public int Heads { get; }
    public int HeadSize { get; }
    public int VocabSize { get; }

    /// <summary>An empty cache (past length 0) for a batch: what a prefill starts from.</summary>
    public float[][] EmptyCache() => Enumerable.Range(0, 2 * Layers).Select(_ => Array.Empty<float>()).ToArray();

    /// <summary>One run. Returns logits (batch, seq, vocab) and the presents (batch, heads, past + seq, headDim),
    /// keys and values interleaved by layer as the inputs expect them.</summary>
    public (float[] Logits, float[][] Presents) Run(int batch, long[] ids, long[] mask, long[] positions, float[][] past, int pastLength)
    {
        int seq = ids.Length / batch;
        var inputs = new Dictionary<string, OrtValue>
        {
            ["input_ids"] = OrtValue.CreateTensorValueFromMemory(ids, [batch, seq]),
            ["attention_mask"] = OrtValue.CreateTensorValueFromMemory(mask, [batch, pastLength + seq]),
            ["position_ids"] = OrtValue.CreateTensorValueFromMemory(positions, [batch, seq]),
        };
        for (int i = 0; i < Layers; i++)
        {
            inputs[$"past_key_values.{i}.key"] = OrtValue.CreateTensorValueFromMemory(past[2 * i], [batch, Heads, pastLength, HeadSize]);
            inputs[$"past_key_values.{i}.value"] = OrtValue.CreateTensorValueFromMemory(past[2 * i + 1], [batch, Heads, pastLength, HeadSize]);
        }
        try
        {
            using var runOptions = new RunOptions();
            using var outputs = _session.Run(runOptions, inputs, _session.OutputNames);
            var byName = _session.OutputNames.Zip(outputs).ToDictionary(p => p.First, p => p.Second);
            var presents = new float[2 * Layers][];
            for (int i = 0; i < Layers; i++)
            {
                presents[2 * i] = byName[$"present.{i}.key"].GetTensorDataAsSpan<float>().ToArray();
                presents[2 * i + 1] = byName[$"present.{i}.value"].GetTensorDataAsSpan<float>().ToArray();
            }
            return (byName["logits"].GetTensorDataAsSpan<float>().ToArray(), presents);
        }
        finally
        {
            foreach (var value in inputs.Values)
                value.Dispose();
        }
    }

    /// <summary>Logits of the last position of a single unpadded sequence, computed without a cache.</summary>
    public float[] LastLogitsFullRecompute(long[] ids)
    {
        var positions = Enumerable.Range(0, ids.Length).Select(i => (long)i).ToArray();
        var mask = Enumerable.Repeat(1L, ids.Length).ToArray();
        var (logits, _) = Run(1, ids, mask, positions, EmptyCache(), 0);
        return logits[((ids.Length - 1) * VocabSize)..(ids.Length * VocabSize)];
    }

    public void Dispose() => _session.Dispose();
}

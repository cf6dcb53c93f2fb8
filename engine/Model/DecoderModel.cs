using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ChatCluster.Inference.Model;

/// <summary>
/// A decoder-only transformer in the Hugging Face / Optimum "decoder with past" layout, run on ONNX Runtime.
/// Inputs: input_ids (B, S), attention_mask (B, P+S), optional position_ids (B, S), and per layer
/// past_key_values.N.key/value (B, H, P, D). Outputs: logits (B, S, V) and present.N.key/value (B, H, P+S, D).
/// Names and shapes are read from the graph, so GPT-2, Llama and Qwen style exports load alike.
/// Every tensor of a call lives in caller-owned pinned buffers: the call copies nothing on the host side.
/// A fused graph (training/fused_graph.py: GroupQueryAttention) keeps these names but declares past and present
/// with one sequence dimension: its KV buffer is shared and updated in place (<see cref="SharesKvBuffer"/>,
/// DecoderModel.InPlace.cs).
/// </summary>
public sealed partial class DecoderModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly OrtValue[] _inputs;
    private readonly OrtValue[] _outputs;
    private readonly long[] _tokenShape = new long[2];
    private readonly long[] _maskShape = new long[2];
    private readonly long[] _logitsShape = new long[3];
    private readonly long[] _pastShape = new long[4];
    private readonly long[] _presentShape = new long[4];

    // Tensor handles by buffer address, type and shape. A handle over pinned memory owns nothing, so it is kept
    // for the next call that views the same memory the same way: this step's present caches are the next step's
    // past, ids, positions and logits keep their shape while the batch does, and a batch size or mask width seen
    // before finds its handles again (a batch that changes size no longer makes a handle per tensor). A key
    // whose buffer was freed is never asked for unless a new buffer of that shape lands at that address, and then
    // its handle views exactly that memory. Bounded: past MaxTensorHandles the next call starts afresh.
    private readonly Dictionary<TensorKey, OrtValue> _handles = [];
    private const int MaxTensorHandles = 4096;

    /// <summary>The Optimum graph's file name in a model folder.</summary>
    public const string OptimumGraph = "model.onnx";

    /// <summary>The fused graph's file name (training/fused_graph.py writes it beside the Optimum one).</summary>
    public const string FusedGraph = "model.fused.onnx";

    private DecoderModel(ModelConfig config, InferenceSession session, ExecutionDevice device)
    {
        Config = config;
        Device = device;
        _session = session;

        var inputs = session.InputMetadata;
        Require(inputs, "input_ids");
        Require(inputs, "attention_mask");
        HasPositionIds = inputs.ContainsKey("position_ids");

        var layers = 0;
        while (inputs.ContainsKey($"past_key_values.{layers}.key"))
        {
            Require(inputs, $"past_key_values.{layers}.value");
            Require(session.OutputMetadata, $"present.{layers}.key");
            Require(session.OutputMetadata, $"present.{layers}.value");
            layers++;
        }

        if (layers == 0)
        {
            throw new InvalidDataException(
                $"{config.Directory}/model.onnx has no past_key_values.0.key input: export the decoder with its KV cache (Optimum's 'text-generation-with-past').");
        }

        var pastMeta = inputs["past_key_values.0.key"];
        if (pastMeta.ElementDataType != TensorElementType.Float)
        {
            throw new NotSupportedException($"The KV cache of {config.Id} is {pastMeta.ElementDataType}; this engine runs float32 caches.");
        }

        var dims = pastMeta.Dimensions;
        if (dims.Length != 4 || dims[1] <= 0 || dims[3] <= 0)
        {
            throw new InvalidDataException($"past_key_values.0.key of {config.Id} must be (batch, heads, past, head_dim) with fixed heads and head_dim; it is [{string.Join(", ", dims)}].");
        }

        KvShape = new KvShape(layers, dims[1], dims[3]);

        // Optimum declares present's length as past + new ("past_sequence_length + sequence_length"); a graph whose
        // present has past's own length writes into the past buffer it was given.
        var pastLength = pastMeta.SymbolicDimensions[2];
        SharesKvBuffer = pastLength.Length > 0 && pastLength == session.OutputMetadata["present.0.key"].SymbolicDimensions[2];
        if (SharesKvBuffer)
        {
            _binding = session.CreateIoBinding();
        }

        var logitsDims = session.OutputMetadata["logits"].Dimensions;
        VocabSize = logitsDims.Length == 3 && logitsDims[2] > 0 ? logitsDims[2] : config.VocabSize;

        var names = new List<string> { "input_ids", "attention_mask" };
        if (HasPositionIds)
        {
            names.Add("position_ids");
        }

        var outputs = new List<string> { "logits" };
        for (var l = 0; l < layers; l++)
        {
            names.Add($"past_key_values.{l}.key");
            names.Add($"past_key_values.{l}.value");
            outputs.Add($"present.{l}.key");
            outputs.Add($"present.{l}.value");
        }

        _inputNames = [.. names];
        _outputNames = [.. outputs];
        _inputs = new OrtValue[_inputNames.Length];
        _outputs = new OrtValue[_outputNames.Length];
    }

    public ModelConfig Config { get; }

    public ExecutionDevice Device { get; }

    public int VocabSize { get; }

    public bool HasPositionIds { get; }

    /// <summary>
    /// Whether past and present are one buffer of fixed capacity, right-padded (a fused GroupQueryAttention graph):
    /// run it with <see cref="RunInPlace"/>; otherwise with <see cref="Run"/>.
    /// </summary>
    public bool SharesKvBuffer { get; }

    internal KvShape KvShape { get; }

    /// <summary>
    /// Loads a graph of a model folder (model.onnx, or e.g. model.fused.onnx) on the given device; <paramref name="threads"/>
    /// intra-op threads (0: one per core); <paramref name="allowSpinning"/> lets idle intra-op threads spin (ONNX
    /// Runtime's default; off here). No <paramref name="graph"/>: on the CPU, the fused graph where the folder has one
    /// (1.2-1.6x the Optimum graph's tokens/s, the same greedy replies; bench/results/fused), else the Optimum one;
    /// on CUDA the Optimum one, since ONNX Runtime has no float32 GroupQueryAttention kernel for CUDA and the fused
    /// path has not run on a GPU.
    /// </summary>
    public static DecoderModel Load(string directory, ExecutionDevice device, int threads = 0, bool allowSpinning = false, string? graph = null)
    {
        var config = ModelConfig.Load(directory);
        graph ??= !device.IsCuda && File.Exists(Path.Combine(config.Directory, FusedGraph)) ? FusedGraph : OptimumGraph;
        var path = Path.Combine(config.Directory, graph);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The model folder '{config.Directory}' has no {graph}.", path);
        }

        using var options = device.CreateSessionOptions(threads, allowSpinning);
        return new DecoderModel(config, new InferenceSession(path, options), device);
    }

    /// <summary>
    /// One forward pass over <paramref name="batch"/> rows of <paramref name="tokens"/> new tokens each.
    /// The caller has filled <paramref name="io"/>'s ids, positions and mask; <paramref name="past"/> holds
    /// (batch, H, P, D). On return <paramref name="present"/> holds (batch, H, P + tokens, D) and io.Logits
    /// (batch, tokens, V). The logits are read on the host right after: that is the step's sync point.
    /// </summary>
    internal void Run(ModelStepBuffers io, int batch, int tokens, KvCache past, KvCache present)
    {
        if (SharesKvBuffer)
        {
            throw new InvalidOperationException($"{Config.Id}'s graph shares its KV buffer: run it with RunInPlace.");
        }

        if (past.Rows != batch)
        {
            throw new ArgumentException($"The past cache has {past.Rows} rows for a batch of {batch}.", nameof(past));
        }

        var pastLength = past.Length;
        present.Resize(batch, pastLength + tokens);
        io.Reserve(batch, tokens, pastLength, VocabSize);
        SetShape(_tokenShape, batch, tokens);
        SetShape(_maskShape, batch, pastLength + tokens);
        SetShape(_logitsShape, batch, tokens, VocabSize);
        SetShape(_pastShape, batch, KvShape.Heads, pastLength, KvShape.HeadDim);
        SetShape(_presentShape, batch, KvShape.Heads, pastLength + tokens, KvShape.HeadDim);

        TrimHandles();
        var i = 0;
        try
        {
            _inputs[i++] = Tensor(io.InputIds, TensorElementType.Int64, _tokenShape);
            _inputs[i++] = Tensor(io.AttentionMask, TensorElementType.Int64, _maskShape);
            if (HasPositionIds)
            {
                _inputs[i++] = Tensor(io.PositionIds, TensorElementType.Int64, _tokenShape);
            }

            _outputs[0] = Tensor(io.Logits, TensorElementType.Float, _logitsShape);
            for (var t = 0; t < past.TensorCount; t++)
            {
                _inputs[i++] = Tensor(past.Tensor(t), TensorElementType.Float, _pastShape);
                _outputs[t + 1] = Tensor(present.Tensor(t), TensorElementType.Float, _presentShape);
            }

            _session.Run(_runOptions, _inputNames, _inputs, _outputNames, _outputs);
        }
        finally
        {
            Array.Clear(_inputs);
            Array.Clear(_outputs);
        }
    }

    public void Dispose()
    {
        _binding?.Dispose();
        foreach (var value in _handles.Values)
        {
            value.Dispose();
        }

        _handles.Clear();
        _session.Dispose();
        _runOptions.Dispose();
    }

    private static void Require(IReadOnlyDictionary<string, NodeMetadata> names, string name)
    {
        if (!names.ContainsKey(name))
        {
            throw new InvalidDataException($"The model has no '{name}' {(name.StartsWith("present", StringComparison.Ordinal) ? "output" : "input")}; expected the Optimum decoder-with-past layout (see README).");
        }
    }

    private OrtValue Tensor<T>(PinnedBuffer<T> buffer, TensorElementType type, long[] shape) where T : unmanaged =>
        Tensor(buffer.Address, System.Runtime.CompilerServices.Unsafe.SizeOf<T>(), type, shape);

    /// <summary>A tensor over pinned memory: the kept handle when address, type and shape match, else a new one.</summary>
    private OrtValue Tensor(IntPtr address, int elementBytes, TensorElementType type, long[] shape)
    {
        var key = new TensorKey(address, type, shape[0], shape[1], shape.Length > 2 ? shape[2] : -1, shape.Length > 3 ? shape[3] : -1);
        if (!_handles.TryGetValue(key, out var value))
        {
            long elements = 1;
            foreach (var d in shape)
            {
                elements *= d;
            }

            value = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, shape, address, elements * elementBytes);
            _handles.Add(key, value);
        }

        return value;
    }

    /// <summary>
    /// Before a call, never during one (its handles must live until it returns): drops every kept handle once there
    /// are too many. Names bound to them are bound afresh (an I/O binding holds its own reference to what it binds).
    /// </summary>
    private void TrimHandles()
    {
        if (_handles.Count < MaxTensorHandles)
        {
            return;
        }

        foreach (var value in _handles.Values)
        {
            value.Dispose();
        }

        _handles.Clear();
        _bound.Clear();
    }

    private static void SetShape(long[] shape, params ReadOnlySpan<long> dims) => dims.CopyTo(shape);

    private readonly record struct TensorKey(IntPtr Address, TensorElementType Type, long D0, long D1, long D2, long D3);
}

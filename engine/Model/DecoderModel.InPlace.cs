using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ChatCluster.Inference.Model;

/// <summary>Runs a graph whose past and present share one KV buffer (<see cref="SharesKvBuffer"/>).</summary>
public sealed partial class DecoderModel
{
    private readonly OrtIoBinding? _binding;
    private readonly long[] _slotShape = new long[4];

    // What the binding holds, by name: a binding outlives a call, so a name is rebound only when its tensor
    // changed. In steady decode only the mask does (its width grows by one a step); ids, positions, logits and
    // the KV views keep their handles while the batch keeps its rows.
    private readonly Dictionary<string, OrtValue> _bound = [];

    /// <summary>
    /// One forward pass over <paramref name="batch"/> consecutive slots from <paramref name="firstSlot"/>, each fed
    /// <paramref name="tokens"/> new tokens: the slots' region of every KV tensor, (batch, H, Capacity, D), is bound
    /// as both past_key_values.N and present.N, so the graph writes each row's new keys and values at that row's
    /// own length, in place, and nothing else moves. The caller has filled io's ids and positions (batch, tokens)
    /// and a right-padded mask (batch, <paramref name="maskWidth"/>): row b's ones cover its total length, from
    /// which the graph takes seqlens_k (the ones − 1) and total_sequence_length (the width). More than one token
    /// over existing context needs batch 1 (GroupQueryAttention's rule). On return io.Logits holds
    /// (batch, tokens, V), read on the host right after: the step's sync point.
    /// </summary>
    internal void RunInPlace(ModelStepBuffers io, int batch, int tokens, int maskWidth, KvSlots slots, int firstSlot)
    {
        var binding = _binding ?? throw new InvalidOperationException($"{Config.Id}'s graph does not share its KV buffer: run it with Run.");
        if (firstSlot + batch > slots.Slots || maskWidth > slots.Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(batch), $"slots [{firstSlot}, {firstSlot + batch}) of {slots.Slots}, mask width {maskWidth} of {slots.Capacity}.");
        }

        io.Reserve(batch, tokens, maskWidth - tokens, VocabSize);
        SetShape(_tokenShape, batch, tokens);
        SetShape(_maskShape, batch, maskWidth);
        SetShape(_logitsShape, batch, tokens, VocabSize);
        SetShape(_slotShape, batch, KvShape.Heads, slots.Capacity, KvShape.HeadDim);
        TrimHandles();
        Bind(binding, "input_ids", Tensor(io.InputIds, TensorElementType.Int64, _tokenShape), output: false);
        Bind(binding, "attention_mask", Tensor(io.AttentionMask, TensorElementType.Int64, _maskShape), output: false);
        if (HasPositionIds)
        {
            Bind(binding, "position_ids", Tensor(io.PositionIds, TensorElementType.Int64, _tokenShape), output: false);
        }

        Bind(binding, "logits", Tensor(io.Logits, TensorElementType.Float, _logitsShape), output: true);
        var firstKv = _inputNames.Length - slots.TensorCount;
        for (var t = 0; t < slots.TensorCount; t++)
        {
            var kv = Tensor(slots.Address(t, firstSlot), sizeof(float), TensorElementType.Float, _slotShape);
            Bind(binding, _inputNames[firstKv + t], kv, output: false);
            Bind(binding, _outputNames[t + 1], kv, output: true);
        }

        _session.RunWithBinding(_runOptions, binding);
    }

    private void Bind(OrtIoBinding binding, string name, OrtValue value, bool output)
    {
        if (_bound.TryGetValue(name, out var bound) && ReferenceEquals(bound, value))
        {
            return;
        }

        if (output)
        {
            binding.BindOutput(name, value);
        }
        else
        {
            binding.BindInput(name, value);
        }

        _bound[name] = value;
    }
}
